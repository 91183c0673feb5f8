"""Sync status API: links of contacts to their records in other systems, created, replaced,
read and removed by contact reference; the reverse lookup by integration and external id;
moving links when contacts merge; scopes and isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.errors import AppError
from rapport.models import SyncLink, SyncProvider
from rapport.sync.repository import SyncLinkRepository
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

CONTACTS = "/api/v1/contacts"
LINKS = "/api/v1/sync-links"
EVENTS = "/api/v1/events"

LINK_FIELDS = {
    "integrationKey",
    "provider",
    "integrationName",
    "externalId",
    "lastSyncedAt",
    "syncHash",
    "createdAt",
    "updatedAt",
}
FULL = {
    "provider": "HUBSPOT",
    "externalId": "5101",
    "integrationName": "HubSpot (production)",
    "lastSyncedAt": "2026-11-23T09:30:00Z",
    "syncHash": "9f86d081884c7d65",
}


async def new_contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("email", "ada@example.com")
    body.setdefault("name", "Ada Lovelace")
    response = await client.post(CONTACTS, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def url(ref: str, key: str | None = None) -> str:
    return f"{CONTACTS}/{ref}/sync-status" + (f"/{key}" if key is not None else "")


async def put(
    client: httpx.AsyncClient, ws: Workspace, ref: str, key: str, body: Any
) -> httpx.Response:
    return await client.put(url(ref, key), json=body, headers=ws.headers)


async def link(
    client: httpx.AsyncClient, ws: Workspace, ref: str, key: str, **body: Any
) -> dict[str, Any]:
    """Create the link (201) with `body` over a HubSpot record 5101."""
    response = await put(
        client, ws, ref, key, {"provider": "HUBSPOT", "externalId": "5101", **body}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def status(client: httpx.AsyncClient, ws: Workspace, ref: str) -> dict[str, Any]:
    response = await client.get(url(ref), headers=ws.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    data: dict[str, Any] = response.json()["data"]
    return data


async def unlink(client: httpx.AsyncClient, ws: Workspace, ref: str, key: str) -> httpx.Response:
    return await client.delete(url(ref, key), headers=ws.headers)


async def lookup(
    client: httpx.AsyncClient, ws: Workspace, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(LINKS, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def count_links(database: Database) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(select(func.count()).select_from(SyncLink)) or 0)


async def event_count(client: httpx.AsyncClient, ws: Workspace) -> int:
    response = await client.get(EVENTS, headers=ws.headers)
    assert response.status_code == 200, response.text
    total: int = response.json()["meta"]["total"]
    return total


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


# --- create, replace, read ----------------------------------------------------------------------


async def test_put_creates_the_link_with_201(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)

    response = await put(client, workspace, contact["id"], "hubspot-production", FULL)

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == LINK_FIELDS
    assert data["integrationKey"] == "hubspot-production"
    assert data["provider"] == "HUBSPOT"
    assert data["integrationName"] == "HubSpot (production)"
    assert data["externalId"] == "5101"
    assert data["lastSyncedAt"] == "2026-11-23T09:30:00Z"
    assert data["syncHash"] == "9f86d081884c7d65"
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")
    assert response.headers["Location"] == (
        f"/api/v1/contacts/{contact['id']}/sync-status/hubspot-production"
    )
    assert await count_links(database) == 1
    assert await status(client, workspace, contact["id"]) == {
        "contactId": contact["id"],
        "externalId": None,
        "integrations": [data],
    }


async def test_put_again_replaces_the_link_with_200(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    first = (await put(client, workspace, contact["id"], "crm", FULL)).json()["data"]

    response = await put(
        client,
        workspace,
        contact["id"],
        "crm",
        {"provider": "SALESFORCE", "externalId": " 003XX0001 ", "syncHash": "abc"},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["integrationKey"] == "crm"
    assert data["provider"] == "SALESFORCE"
    assert data["externalId"] == "003XX0001"
    assert data["syncHash"] == "abc"
    assert data["integrationName"] is None  # a replace: fields not sent are cleared
    assert data["lastSyncedAt"] is None
    assert data["createdAt"] == first["createdAt"]
    assert data["updatedAt"] >= first["updatedAt"]
    assert response.headers["Location"] == f"/api/v1/contacts/{contact['id']}/sync-status/crm"
    assert await count_links(database) == 1
    assert (await status(client, workspace, contact["id"]))["integrations"] == [data]


async def test_replacing_with_the_same_record_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    first = (await put(client, workspace, contact["id"], "crm", FULL)).json()["data"]
    before = await snapshot(database)

    response = await put(
        client,
        workspace,
        contact["id"],
        "crm",
        {
            **FULL,
            "integrationName": "  HubSpot (production) ",
            "lastSyncedAt": "2026-11-23T10:30:00+01:00",
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"] == first
    assert await snapshot(database) == before


async def test_optional_fields_default_to_null_and_times_are_utc(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await new_contact(client, workspace)

    bare = await link(client, workspace, contact["id"], "bare")
    named = await link(
        client,
        workspace,
        contact["id"],
        "named",
        externalId="7",
        integrationName="   ",
        lastSyncedAt="2026-11-23T10:30:00+01:00",
    )
    naive = await link(
        client,
        workspace,
        contact["id"],
        "naive",
        externalId="8",
        lastSyncedAt="2026-11-23T08:00:00",
    )

    assert (bare["integrationName"], bare["lastSyncedAt"], bare["syncHash"]) == (None, None, None)
    assert named["integrationName"] is None
    assert named["lastSyncedAt"] == "2026-11-23T09:30:00Z"
    assert naive["lastSyncedAt"] == "2026-11-23T08:00:00Z"


@pytest.mark.parametrize("provider", [p.value for p in SyncProvider])
async def test_every_provider_is_accepted(
    client: httpx.AsyncClient, workspace: Workspace, provider: str
) -> None:
    contact = await new_contact(client, workspace)

    data = await link(client, workspace, contact["id"], "one", provider=provider)

    assert data["provider"] == provider


async def test_status_lists_the_contacts_links_by_integration_key(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await new_contact(client, workspace, externalId="crm-1042")
    other = await new_contact(client, workspace, email="bob@example.com")
    made = {}
    for n, key in enumerate(["zulu", "alpha", "mike-2", "mike_1", "0-first"]):
        made[key] = await link(client, workspace, contact["id"], key, externalId=f"r-{n}")
    await link(client, workspace, other["id"], "alpha", externalId="bob-1")

    data = await status(client, workspace, contact["id"])

    assert data["contactId"] == contact["id"]
    assert data["externalId"] == "crm-1042"
    assert [i["integrationKey"] for i in data["integrations"]] == sorted(made)
    assert data["integrations"] == [made[key] for key in sorted(made)]
    other_status = await status(client, workspace, other["id"])
    assert other_status["contactId"] == other["id"]
    [bobs] = other_status["integrations"]
    assert (bobs["integrationKey"], bobs["externalId"]) == ("alpha", "bob-1")


async def test_a_contact_without_links_has_an_empty_status(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await new_contact(client, workspace, externalId="crm-1")

    assert await status(client, workspace, contact["id"]) == {
        "contactId": contact["id"],
        "externalId": "crm-1",
        "integrations": [],
    }


@pytest.mark.parametrize("key", ["hubspot-production", "a", "0", "x" * 64, "a--b", "trail-", "q3_"])
async def test_valid_integration_keys_are_accepted(
    client: httpx.AsyncClient, workspace: Workspace, key: str
) -> None:
    contact = await new_contact(client, workspace)

    data = await link(client, workspace, contact["id"], key)

    assert data["integrationKey"] == key
    assert (await unlink(client, workspace, contact["id"], key)).status_code == 204


async def test_writes_record_no_events(client: httpx.AsyncClient, workspace: Workspace) -> None:
    contact = await new_contact(client, workspace)
    before = await event_count(client, workspace)

    await link(client, workspace, contact["id"], "crm")
    assert (await put(client, workspace, contact["id"], "crm", FULL)).status_code == 200
    assert (await unlink(client, workspace, contact["id"], "crm")).status_code == 204

    assert await event_count(client, workspace) == before


# --- naming the contact ------------------------------------------------------------------------


async def test_contact_may_be_named_by_id_email_or_external_id(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await new_contact(client, workspace, email="ada@example.com", externalId="ext-1")
    refs = [contact["id"], "ada@example.com", "ADA@Example.com", "ext-1"]

    for n, ref in enumerate(refs):
        created = await put(client, workspace, ref, f"key-{n}", {**FULL, "externalId": f"r-{n}"})
        assert created.status_code == 201, (ref, created.text)
        assert created.headers["Location"].startswith(f"/api/v1/contacts/{contact['id']}/")
    for ref in refs:
        data = await status(client, workspace, ref)
        assert data["contactId"] == contact["id"]
        assert [i["integrationKey"] for i in data["integrations"]] == [
            f"key-{n}" for n in range(len(refs))
        ]
    for n, ref in enumerate(reversed(refs)):
        assert (await unlink(client, workspace, ref, f"key-{n}")).status_code == 204

    assert (await status(client, workspace, "ext-1"))["integrations"] == []


async def test_a_merged_contact_resolves_to_the_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com", externalId="l-1")
    merged = await client.post(
        f"{CONTACTS}/{winner['id']}/merge", json={"loserId": loser["id"]}, headers=workspace.headers
    )
    assert merged.status_code == 200, merged.text

    created = await put(client, workspace, "lose@example.com", "crm", FULL)

    assert created.status_code == 201, created.text
    for ref in (loser["id"], "l-1", winner["id"]):
        data = await status(client, workspace, ref)
        assert data["contactId"] == winner["id"]
        assert data["integrations"] == [created.json()["data"]]
    assert (await unlink(client, workspace, loser["id"], "crm")).status_code == 204
    assert (await status(client, workspace, winner["id"]))["integrations"] == []


async def test_a_soft_deleted_contact_keeps_its_links_like_its_other_records(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """Writes are not refused for a DELETED contact, as for its tags, companies and
    activities."""
    contact = await new_contact(client, workspace, externalId="ext-1")
    kept = await link(client, workspace, contact["id"], "crm")
    deleted = await client.delete(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)
    assert deleted.status_code == 200, deleted.text

    assert (await status(client, workspace, "ext-1"))["integrations"] == [kept]
    assert (await put(client, workspace, contact["id"], "crm", FULL)).status_code == 200
    assert (await unlink(client, workspace, contact["id"], "crm")).status_code == 204


async def test_unknown_contact_is_404_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace, externalId="ext-1")
    await link(client, workspace, contact["id"], "crm")
    before = await snapshot(database)

    for ref in (str(uuid.uuid4()), "nobody@example.com", "ext-404"):
        assert_error(await client.get(url(ref), headers=workspace.headers), 404, "NOT_FOUND")
        assert_error(await put(client, workspace, ref, "crm", FULL), 404, "NOT_FOUND")
        assert_error(await put(client, workspace, ref, "new", FULL), 404, "NOT_FOUND")
        assert_error(await unlink(client, workspace, ref, "crm"), 404, "NOT_FOUND")

    assert await snapshot(database) == before


# --- delete -------------------------------------------------------------------------------------


async def test_delete_is_204_and_a_second_delete_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    await link(client, workspace, contact["id"], "crm")
    keep = await link(client, workspace, contact["id"], "mailing", provider="MAILCHIMP")

    response = await unlink(client, workspace, contact["id"], "crm")

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert (await status(client, workspace, contact["id"]))["integrations"] == [keep]
    before = await snapshot(database)
    again = await unlink(client, workspace, contact["id"], "crm")
    assert_error(again, 404, "NOT_FOUND")
    assert await snapshot(database) == before

    back = await put(client, workspace, contact["id"], "crm", FULL)
    assert back.status_code == 201, back.text


async def test_delete_of_a_link_the_contact_does_not_have_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    other = await new_contact(client, workspace, email="bob@example.com")
    await link(client, workspace, other["id"], "crm")
    await link(client, workspace, contact["id"], "mailing")
    before = await snapshot(database)

    response = await unlink(client, workspace, contact["id"], "crm")

    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_an_outside_record_freed_by_a_delete_can_be_linked_again(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace)
    bob = await new_contact(client, workspace, email="bob@example.com")
    await link(client, workspace, ada["id"], "crm", externalId="5101")
    assert (await unlink(client, workspace, ada["id"], "crm")).status_code == 204

    moved = await link(client, workspace, bob["id"], "crm", externalId="5101")

    assert moved["externalId"] == "5101"
    [found], _meta = await lookup(client, workspace, integrationKey="crm", externalId="5101")
    assert found["contactId"] == bob["id"]


# --- refused input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["HubSpot", "-lead", "_lead", "has space", "a.b", "x" * 65, "ünï", "vip!"],
)
async def test_bad_integration_key_in_the_path_is_400_naming_it(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, key: str
) -> None:
    """A malformed path value is 400 INVALID_ID (only body fields are 422)."""
    contact = await new_contact(client, workspace)
    before = await snapshot(database)

    for response in (
        await put(client, workspace, contact["id"], key, FULL),
        await unlink(client, workspace, contact["id"], key),
    ):
        error = assert_error(response, 400, "INVALID_ID")
        assert detail_fields(error) == {"integration_key"}
    assert await snapshot(database) == before
    assert await count_links(database) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "HUBSPOT"}, "externalId"),
        ({"provider": "HUBSPOT", "externalId": None}, "externalId"),
        ({"provider": "HUBSPOT", "externalId": ""}, "externalId"),
        ({"provider": "HUBSPOT", "externalId": "   "}, "externalId"),
        ({"provider": "HUBSPOT", "externalId": 5101}, "externalId"),
        ({"provider": "HUBSPOT", "externalId": "x" * 256}, "externalId"),
        ({"externalId": "5101"}, "provider"),
        ({"provider": None, "externalId": "5101"}, "provider"),
        ({"provider": "ZOHO", "externalId": "5101"}, "provider"),
        ({**FULL, "integrationName": "n" * 201}, "integrationName"),
        ({**FULL, "lastSyncedAt": "yesterday"}, "lastSyncedAt"),
        ({**FULL, "syncHash": ""}, "syncHash"),
        ({**FULL, "syncHash": "h" * 129}, "syncHash"),
        ({**FULL, "contactId": str(uuid.uuid4())}, "contactId"),
        ({**FULL, "integrationKey": "crm"}, "integrationKey"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    contact = await new_contact(client, workspace)
    existing = await link(client, workspace, contact["id"], "crm")
    before = await snapshot(database)

    for key in ("crm", "new"):
        response = await put(client, workspace, contact["id"], key, body)
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert field in detail_fields(error)

    assert await snapshot(database) == before
    assert (await status(client, workspace, contact["id"]))["integrations"] == [existing]


async def test_an_outside_record_linked_to_another_contact_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ada = await new_contact(client, workspace)
    bob = await new_contact(client, workspace, email="bob@example.com")
    ada_link = await link(client, workspace, ada["id"], "crm", externalId="5101")
    bob_link = await link(client, workspace, bob["id"], "crm", externalId="6202")
    before = await snapshot(database)

    replaced = await put(client, workspace, bob["id"], "crm", {**FULL, "externalId": "5101"})
    created = await put(client, workspace, bob["id"], "crm", {**FULL, "externalId": " 5101"})

    assert_error(replaced, 409, "SYNC_EXTERNAL_ID_EXISTS")
    assert_error(created, 409, "SYNC_EXTERNAL_ID_EXISTS")
    assert await snapshot(database) == before
    assert (await status(client, workspace, bob["id"]))["integrations"] == [bob_link]
    assert (await status(client, workspace, ada["id"]))["integrations"] == [ada_link]


async def test_one_external_id_may_be_used_by_several_integrations_and_workspaces(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace)
    bob = await new_contact(client, workspace, email="bob@example.com")
    theirs = await new_contact(client, other_workspace)

    await link(client, workspace, ada["id"], "hubspot-production", externalId="5101")
    await link(client, workspace, bob["id"], "hubspot-staging", externalId="5101")
    await link(client, other_workspace, theirs["id"], "hubspot-production", externalId="5101")
    again = await put(client, workspace, ada["id"], "hubspot-production", FULL)

    assert again.status_code == 200, again.text


async def test_a_unique_race_on_the_outside_record_becomes_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    """Two links to one outside record written at the same moment: the index refuses the
    second, and the repository reports the domain's 409."""
    ada = await new_contact(client, workspace)
    bob = await new_contact(client, workspace, email="bob@example.com")
    before = await snapshot(database)

    async with database.session(platform=EVERY_WORKSPACE) as session:
        repo = SyncLinkRepository(Context.bound(session, workspace.id).session)
        for contact in (ada, bob):
            repo.add(
                SyncLink(
                    contact_id=uuid.UUID(contact["id"]),
                    integration_key="crm",
                    provider=SyncProvider.CUSTOM,
                    external_id="5101",
                )
            )
        with pytest.raises(AppError) as raised:
            await repo.flush()
        await session.rollback()

    assert raised.value.status_code == 409
    assert raised.value.code == "SYNC_EXTERNAL_ID_EXISTS"
    assert await snapshot(database) == before


# --- reverse lookup -----------------------------------------------------------------------------


async def test_lookup_by_integration_and_external_id(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace)
    bob = await new_contact(client, workspace, email="bob@example.com")
    theirs = await new_contact(client, other_workspace)
    ada_link = await link(client, workspace, ada["id"], "crm", externalId="5101")
    await link(client, workspace, bob["id"], "crm", externalId="6202")
    await link(client, workspace, bob["id"], "mailing", externalId="5101")
    await link(client, other_workspace, theirs["id"], "crm", externalId="5101")

    rows, meta = await lookup(client, workspace, integrationKey="crm", externalId="5101")

    assert rows == [{**ada_link, "contactId": ada["id"]}]
    assert meta == {
        "total": 1,
        "skip": 0,
        "take": 25,
        "page": 1,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }
    assert (await lookup(client, workspace, integrationKey="crm", externalId="404"))[0] == []
    assert (await lookup(client, workspace, integrationKey="nothing"))[0] == []
    assert (await lookup(client, workspace, integrationKey="crm", externalId=" 5101 "))[0] == rows


async def test_lookup_of_an_integration_pages_newest_first(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    made = []
    for n in range(5):
        contact = await new_contact(client, workspace, email=f"c{n}@example.com")
        made.append(await link(client, workspace, contact["id"], "crm", externalId=f"r-{n}"))
    other = await new_contact(client, workspace, email="other@example.com")
    await link(client, workspace, other["id"], "mailing", externalId="r-0")
    newest_first = [m["externalId"] for m in reversed(made)]

    first, meta = await lookup(client, workspace, integrationKey="crm", take=2)
    second, meta2 = await lookup(client, workspace, integrationKey="crm", page=2, pageSize=2)
    last, meta3 = await lookup(client, workspace, integrationKey="crm", skip=4, take=2)

    assert [r["externalId"] for r in first + second + last] == newest_first
    assert all(set(r) == LINK_FIELDS | {"contactId"} for r in first)
    assert meta["total"] == 5
    assert meta["totalPages"] == 3
    assert meta["hasMore"] is True
    assert meta2["page"] == 2
    assert meta3["hasMore"] is False


async def test_lookup_cursor_walk_and_sorting(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for n in (3, 1, 4, 0, 2):
        contact = await new_contact(client, workspace, email=f"c{n}@example.com")
        await link(client, workspace, contact["id"], "crm", externalId=f"r-{n}")
    seen: list[str] = []
    params: dict[str, Any] = {"integrationKey": "crm", "sort": "externalId:asc", "take": 2}

    for _ in range(5):
        rows, meta = await lookup(client, workspace, **params)
        seen += [row["externalId"] for row in rows]
        if meta["nextCursor"] is None:
            break
        assert (meta["total"] is None) == ("cursor" in params)
        params = {"integrationKey": "crm", "cursor": meta["nextCursor"], "take": 2}

    assert seen == [f"r-{n}" for n in range(5)]
    desc, _meta = await lookup(
        client, workspace, integrationKey="crm", sortBy="externalId", sortOrder="desc"
    )
    assert [r["externalId"] for r in desc] == [f"r-{n}" for n in reversed(range(5))]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "integrationKey"),
        ({"integrationKey": ""}, "integrationKey"),
        ({"integrationKey": "HubSpot"}, "integrationKey"),
        ({"integrationKey": "x" * 65}, "integrationKey"),
        ({"integrationKey": "crm", "externalId": ""}, "externalId"),
        ({"integrationKey": "crm", "externalId": "  "}, "externalId"),
        ({"integrationKey": "crm", "externalId": "x" * 256}, "externalId"),
        ({"integrationKey": "crm", "sortBy": "provider"}, "sortBy"),
        ({"integrationKey": "crm", "take": 101}, "take"),
    ],
)
async def test_invalid_lookup_parameters_are_400(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    params: dict[str, Any],
    field: str,
) -> None:
    contact = await new_contact(client, workspace)
    await link(client, workspace, contact["id"], "crm")
    before = await snapshot(database)

    response = await client.get(LINKS, params=params, headers=workspace.headers)

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


# --- moving links when contacts merge -----------------------------------------------------------


async def test_a_merge_moves_the_losers_links_and_drops_those_the_winner_has(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    bystander = await new_contact(client, workspace, email="by@example.com")
    theirs = await new_contact(client, other_workspace)
    on_winner = await link(client, workspace, winner["id"], "crm", externalId="w-crm")
    await link(client, workspace, loser["id"], "crm", externalId="l-crm")
    moving = [
        await link(client, workspace, loser["id"], key, externalId=f"l-{key}")
        for key in ("mailing", "scripts")
    ]
    await link(client, workspace, bystander["id"], "mailing", externalId="b-mailing")
    await link(client, other_workspace, theirs["id"], "scripts", externalId="t-scripts")

    merged = await client.post(
        f"{CONTACTS}/{winner['id']}/merge", json={"loserId": loser["id"]}, headers=workspace.headers
    )

    assert merged.status_code == 200, merged.text
    on_the_winner = (await status(client, workspace, winner["id"]))["integrations"]
    assert [(i["integrationKey"], i["externalId"]) for i in on_the_winner] == [
        ("crm", "w-crm"),
        ("mailing", "l-mailing"),
        ("scripts", "l-scripts"),
    ]
    assert on_the_winner[0] == on_winner
    for before, after in zip(moving, on_the_winner[1:], strict=True):
        assert {k: v for k, v in after.items() if k != "updatedAt"} == {
            k: v for k, v in before.items() if k != "updatedAt"
        }
    assert (await status(client, workspace, loser["id"]))["contactId"] == winner["id"]
    dropped, _meta = await lookup(client, workspace, integrationKey="crm", externalId="l-crm")
    assert dropped == []
    [found], _meta = await lookup(
        client, workspace, integrationKey="scripts", externalId="l-scripts"
    )
    assert found["contactId"] == winner["id"]
    [by], _meta = await lookup(client, workspace, integrationKey="mailing", externalId="b-mailing")
    assert by["contactId"] == bystander["id"]
    [kept], _meta = await lookup(client, other_workspace, integrationKey="scripts")
    assert kept["contactId"] == theirs["id"]
    [event] = await events_of_type(client, workspace, "contact.merged")
    assert event["data"]["moved"]["syncLinks"] == 2


async def test_moving_links_without_links_onto_itself_or_across_workspaces_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    ada = await new_contact(client, workspace)
    bob = await new_contact(client, workspace, email="bob@example.com")
    theirs = await new_contact(client, other_workspace)
    await link(client, workspace, ada["id"], "crm")
    await link(client, other_workspace, theirs["id"], "mailing")
    before = await snapshot(database)

    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        repo = SyncLinkRepository(Context.bound(session, workspace.id).session)
        assert await repo.move(uuid.UUID(bob["id"]), uuid.UUID(ada["id"])) == 0
        assert await repo.move(uuid.UUID(ada["id"]), uuid.UUID(ada["id"])) == 0
        # Another workspace's contact is out of reach.
        assert await repo.move(uuid.UUID(theirs["id"]), uuid.UUID(ada["id"])) == 0

    assert await snapshot(database) == before


# --- scopes and isolation -----------------------------------------------------------------------


async def test_read_only_key_can_read_but_not_write(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    made = await link(client, workspace, contact["id"], "crm")
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    read = await client.get(url(contact["id"]), headers=reader)
    found = await client.get(LINKS, params={"integrationKey": "crm"}, headers=reader)
    assert read.status_code == 200, read.text
    assert read.json()["data"]["integrations"] == [made]
    assert found.status_code == 200, found.text
    assert [r["externalId"] for r in found.json()["data"]] == ["5101"]

    for method, path, body in (
        ("PUT", url(contact["id"], "crm"), FULL),
        ("PUT", url(contact["id"], "new"), FULL),
        ("DELETE", url(contact["id"], "crm"), None),
    ):
        response = await client.request(method, path, json=body, headers=reader)
        error = assert_error(response, 403, "FORBIDDEN")
        assert "crm:write" in error["message"]

    assert await snapshot(database) == before


async def test_write_only_key_cannot_read(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    writer = await add_key(database, workspace, ["crm:write"])

    created = await client.put(url(contact["id"], "crm"), json=FULL, headers=writer)
    assert created.status_code == 201, created.text
    before = await snapshot(database)
    for path, params in ((url(contact["id"]), {}), (LINKS, {"integrationKey": "crm"})):
        response = await client.get(path, params=params, headers=writer)
        error = assert_error(response, 403, "FORBIDDEN")
        assert "crm:read" in error["message"]
    assert await snapshot(database) == before


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace)
    await link(client, workspace, contact["id"], "crm")
    before = await snapshot(database)

    assert_error(await client.get(url(contact["id"])), 401, "UNAUTHENTICATED")
    assert_error(await client.put(url(contact["id"], "crm"), json=FULL), 401, "UNAUTHENTICATED")
    assert_error(await client.delete(url(contact["id"], "crm")), 401, "UNAUTHENTICATED")
    assert_error(await client.get(LINKS, params={"integrationKey": "crm"}), 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


async def test_another_workspace_gets_404_and_sees_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    contact = await new_contact(client, workspace, email="ada@example.com", externalId="c-1")
    made = await link(client, workspace, contact["id"], "crm", externalId="secret-5101")
    stranger = other_workspace
    before = await snapshot(database)

    for ref in (contact["id"], "ada@example.com", "c-1"):
        assert_error(await client.get(url(ref), headers=stranger.headers), 404, "NOT_FOUND")
        for key in ("crm", "new"):
            assert_error(await put(client, stranger, ref, key, FULL), 404, "NOT_FOUND")
            assert_error(await unlink(client, stranger, ref, key), 404, "NOT_FOUND")
    rows, meta = await lookup(client, stranger, integrationKey="crm", externalId="secret-5101")

    assert rows == []
    assert meta["total"] == 0
    assert await snapshot(database) == before
    assert (await status(client, workspace, contact["id"]))["integrations"] == [made]
