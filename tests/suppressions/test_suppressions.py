"""The suppression list's API: adding an address (once: again is 200 unchanged), listing with
filters (an erased person's entry is found by address and shows none), reading, removing (not
an erased person's entry), events, scopes and isolation; and the service other domains call."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models import Suppression, SuppressionReason
from rapport.suppressions.service import SuppressionService
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"
LIST = f"{API}/suppressions"
FIELDS = {"id", "email", "emailHash", "reason", "source", "createdAt"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def add(
    client: httpx.AsyncClient, ws: Workspace, status: int = 201, **body: Any
) -> dict[str, Any]:
    response = await client.post(LIST, json=body, headers=ws.headers)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def listed(
    client: httpx.AsyncClient, ws: Workspace | dict[str, str], **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    headers = ws.headers if isinstance(ws, Workspace) else ws
    response = await client.get(LIST, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["data"], body["meta"]


async def erased_contact(client: httpx.AsyncClient, ws: Workspace, email: str) -> None:
    """A contact with this email, erased: its address goes on the list as `erased`."""
    made = await client.post(f"{API}/contacts", json={"email": email}, headers=ws.headers)
    assert made.status_code == 201, made.text
    erased = await client.post(
        f"{API}/contacts/{made.json()['data']['id']}/erase", json={}, headers=ws.headers
    )
    assert erased.status_code == 200, erased.text


async def stored(database: Database) -> list[Suppression]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return list((await session.execute(select(Suppression))).scalars())


# --- adding -------------------------------------------------------------------------------------


async def test_add_is_201_with_the_normalised_address_and_its_hash(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        LIST,
        json={"email": "  Ada@Example.COM ", "source": " Phone call "},
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == FIELDS
    assert data["email"] == "ada@example.com"
    assert data["emailHash"] == sha256("ada@example.com")
    assert data["reason"] == "manual"
    assert data["source"] == "Phone call"
    assert data["createdAt"].endswith("Z")
    assert response.headers["Location"] == f"{LIST}/{data['id']}"

    read = await client.get(f"{LIST}/{data['id']}", headers=workspace.headers)
    assert read.status_code == 200, read.text
    assert read.json()["data"] == data


@pytest.mark.parametrize("reason", ["bounced", "complained", "BOUNCED", "Manual"])
async def test_every_reason_but_erased_is_accepted_in_any_case(
    client: httpx.AsyncClient, workspace: Workspace, reason: str
) -> None:
    data = await add(client, workspace, email="ada@example.com", reason=reason)
    assert data["reason"] == reason.lower()
    assert data["source"] is None


async def test_adding_an_address_again_is_200_with_the_entry_unchanged(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    first = await add(client, workspace, email="ada@example.com", reason="bounced", source="A")
    before = await snapshot(database)

    again = await client.post(
        LIST,
        json={"email": "ADA@example.com", "reason": "complained", "source": "B"},
        headers=workspace.headers,
    )

    assert again.status_code == 200, again.text
    assert again.json()["data"] == first
    assert again.headers["Location"] == f"{LIST}/{first['id']}"
    assert await snapshot(database) == before
    assert len(await events_of_type(client, workspace, "suppression.added")) == 1


async def test_concurrent_adds_of_one_address_make_one_entry(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(LIST, json={"email": "ada@example.com"}, headers=workspace.headers)
            for _ in range(5)
        )
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201], [
        r.text for r in responses
    ]
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert len(await stored(database)) == 1
    assert len(await events_of_type(client, workspace, "suppression.added")) == 1


async def test_adding_an_erased_persons_address_is_200_and_it_stays_erased(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await erased_contact(client, workspace, "ada@example.com")
    before = await snapshot(database)

    data = await add(client, workspace, 200, email="Ada@example.com", source="Form")

    assert data["reason"] == "erased"
    assert data["email"] is None
    assert data["source"] is None
    assert data["emailHash"] == sha256("ada@example.com")
    assert await snapshot(database) == before
    assert "ada@example.com" not in repr(await snapshot(database))


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", "", "a b@example.com"])
async def test_an_invalid_address_is_422_naming_email(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, email: str
) -> None:
    before = await snapshot(database)
    response = await client.post(LIST, json={"email": email}, headers=workspace.headers)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in error["details"]] == ["email"]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "reason": "erased"},
        {"email": "ada@example.com", "reason": "ERASED"},
        {"email": "ada@example.com", "reason": "spam"},
        {"email": "ada@example.com", "reason": None},
    ],
)
async def test_reason_erased_or_unknown_is_422_naming_reason(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, body: dict[str, Any]
) -> None:
    before = await snapshot(database)
    response = await client.post(LIST, json=body, headers=workspace.headers)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in error["details"]] == ["reason"]
    assert await snapshot(database) == before


async def test_other_invalid_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)
    for body, field in (
        ({}, "email"),
        ({"email": "ada@example.com", "source": "x" * 201}, "source"),
        ({"email": "ada@example.com", "emailHash": "abc"}, "emailHash"),
        ({"email": "a" * 310 + "@example.com"}, "email"),
    ):
        response = await client.post(LIST, json=body, headers=workspace.headers)
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert field in {d["field"] for d in error["details"]}, (body, error)
    assert await snapshot(database) == before


# --- listing and reading ------------------------------------------------------------------------


async def test_list_is_newest_first_and_filters_by_reason_and_address(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    manual = await add(client, workspace, email="manual@example.com")
    bounced = await add(client, workspace, email="bounced@example.com", reason="bounced")
    await erased_contact(client, workspace, "ada@example.com")

    rows, meta = await listed(client, workspace)
    assert [r["emailHash"] for r in rows] == [
        sha256("ada@example.com"),
        bounced["emailHash"],
        manual["emailHash"],
    ]
    assert meta["total"] == 3
    assert rows[1:] == [bounced, manual]

    erased, _meta = await listed(client, workspace, email="ADA@example.com")
    assert len(erased) == 1
    assert erased[0]["email"] is None
    assert erased[0]["reason"] == "erased"
    assert erased[0]["source"] is None
    assert set(erased[0]) == FIELDS

    assert (await listed(client, workspace, reason="bounced"))[0] == [bounced]
    assert (await listed(client, workspace, reason="MANUAL"))[0] == [manual]
    assert (await listed(client, workspace, reason="erased"))[0] == erased
    assert (await listed(client, workspace, reason="complained"))[0] == []
    assert (await listed(client, workspace, email="manual@example.com", reason="manual"))[0] == [
        manual
    ]
    assert (await listed(client, workspace, email="manual@example.com", reason="bounced"))[0] == []
    assert (await listed(client, workspace, email="nobody@example.com"))[0] == []

    page, meta = await listed(client, workspace, take=2)
    assert len(page) == 2
    assert meta["hasMore"] is True
    rest, _meta = await listed(client, workspace, cursor=meta["nextCursor"])
    assert page + rest == rows

    oldest, _meta = await listed(client, workspace, sort="createdAt:asc")
    assert oldest == list(reversed(rows))


async def test_invalid_list_parameters_are_400(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for params, field in (
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"reason": "spam"}, "reason"),
        ({"sortBy": "email"}, "sortBy"),
        ({"emailHash": "abc"}, "emailHash"),
    ):
        response = await client.get(LIST, params=params, headers=workspace.headers)
        error = assert_error(response, 400, "INVALID_REQUEST")
        assert field in {d["field"] for d in error["details"]}, (params, error)


async def test_an_unknown_or_malformed_id_is_404_or_400(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    unknown = f"{LIST}/{uuid.uuid4()}"
    assert_error(await client.get(unknown, headers=workspace.headers), 404, "NOT_FOUND")
    assert_error(await client.delete(unknown, headers=workspace.headers), 404, "NOT_FOUND")
    assert_error(await client.get(f"{LIST}/nope", headers=workspace.headers), 400, "INVALID_ID")


# --- removing -----------------------------------------------------------------------------------


async def test_delete_is_204_then_the_address_may_be_added_again(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    entry = await add(client, workspace, email="ada@example.com", reason="bounced")

    response = await client.delete(f"{LIST}/{entry['id']}", headers=workspace.headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    read = await client.get(f"{LIST}/{entry['id']}", headers=workspace.headers)
    assert_error(read, 404, "NOT_FOUND")
    again = await client.delete(f"{LIST}/{entry['id']}", headers=workspace.headers)
    assert_error(again, 404, "NOT_FOUND")
    assert (await listed(client, workspace))[0] == []
    new = await add(client, workspace, email="ada@example.com")
    assert new["id"] != entry["id"]


async def test_deleting_an_erased_persons_entry_is_409_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await erased_contact(client, workspace, "ada@example.com")
    [entry], _meta = await listed(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    response = await client.delete(f"{LIST}/{entry['id']}", headers=workspace.headers)

    error = assert_error(response, 409, "SUPPRESSION_ERASED")
    assert '"reconsent": true' in error["message"]
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "suppression.removed") == []

    # The person's renewed consent is what lifts it.
    back = await client.post(
        f"{API}/contacts",
        json={"email": "ada@example.com", "reconsent": True},
        headers=workspace.headers,
    )
    assert back.status_code == 201, back.text
    assert (await listed(client, workspace))[0] == []


# --- events -------------------------------------------------------------------------------------


async def test_adding_and_removing_record_events_carrying_the_entry(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    entry = await add(client, workspace, email="ada@example.com", source="Form")
    deleted = await client.delete(f"{LIST}/{entry['id']}", headers=workspace.headers)
    assert deleted.status_code == 204, deleted.text

    [added] = await events_of_type(client, workspace, "suppression.added")
    [removed] = await events_of_type(client, workspace, "suppression.removed")
    for event in (added, removed):
        assert event["resourceType"] == "suppression"
        assert event["resourceId"] == entry["id"]
        assert event["data"] == {"record": entry}
    types = await client.get(f"{API}/webhooks/event-types", headers=workspace.headers)
    assert types.status_code == 200, types.text
    assert {"suppression.added", "suppression.removed"} <= {t["type"] for t in types.json()["data"]}


async def test_erasing_the_person_redacts_their_entrys_events_and_source(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    entry = await add(client, workspace, email="ada@example.com", source="Ada Lovelace, by phone")
    made = await client.post(
        f"{API}/contacts", json={"email": "ada@example.com"}, headers=workspace.headers
    )
    assert made.status_code == 201, made.text
    contact_id = made.json()["data"]["id"]

    # The entry's events are about the person: exported, then redacted by the erasure.
    export = await client.get(f"{API}/contacts/{contact_id}/export", headers=workspace.headers)
    assert export.status_code == 200, export.text
    exported = [e for e in export.json()["data"]["events"] if e["type"] == "suppression.added"]
    assert [e["data"] for e in exported] == [{"record": entry}]
    erased = await client.post(
        f"{API}/contacts/{contact_id}/erase", json={}, headers=workspace.headers
    )
    assert erased.status_code == 200, erased.text

    read = await client.get(f"{LIST}/{entry['id']}", headers=workspace.headers)
    assert read.status_code == 200, read.text
    assert read.json()["data"] == {**entry, "reason": "erased", "email": None, "source": None}
    [added] = await events_of_type(client, workspace, "suppression.added")
    assert added["data"] == {"redacted": True}
    state = repr(await snapshot(database))
    assert "ada@example.com" not in state
    assert "Ada Lovelace" not in state


# --- scopes and isolation -----------------------------------------------------------------------


async def test_without_crm_campaigns_every_route_is_403_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    entry = await add(client, workspace, email="ada@example.com")
    others = await add_key(database, workspace, ["crm:read", "crm:write", "crm:admin"])
    before = await snapshot(database)

    for method, path, body in (
        ("GET", LIST, None),
        ("POST", LIST, {"email": "grace@example.com"}),
        ("POST", LIST, {"email": "ada@example.com"}),
        ("GET", f"{LIST}/{entry['id']}", None),
        ("DELETE", f"{LIST}/{entry['id']}", None),
    ):
        response = await client.request(method, path, json=body, headers=others)
        error = assert_error(response, 403, "FORBIDDEN")
        assert "crm:campaigns" in error["message"]
        assert "ada@example.com" not in response.text

    assert await snapshot(database) == before


async def test_a_key_with_crm_campaigns_only_can_use_every_route(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    campaigns = await add_key(database, workspace, ["crm:campaigns"])

    created = await client.post(LIST, json={"email": "ada@example.com"}, headers=campaigns)
    assert created.status_code == 201, created.text
    entry = created.json()["data"]
    read = await client.get(f"{LIST}/{entry['id']}", headers=campaigns)
    assert read.status_code == 200, read.text
    assert (await listed(client, campaigns))[0] == [entry]
    deleted = await client.delete(f"{LIST}/{entry['id']}", headers=campaigns)
    assert deleted.status_code == 204, deleted.text

    # Reads count against `read`, adding and removing against `write`.
    limits = {"read": read.headers, "write": created.headers}
    assert limits["read"]["X-RateLimit-Limit"] == "1000"
    assert limits["write"]["X-RateLimit-Limit"] == "100"
    assert deleted.headers["X-RateLimit-Limit"] == "100"


async def test_another_workspace_gets_404_sees_nothing_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    entry = await add(client, workspace, email="ada@example.com", source="secret-source")
    await erased_contact(client, workspace, "grace@example.com")
    [erased], _meta = await listed(client, workspace, reason="erased")
    stranger = other_workspace
    before = await snapshot(database)

    for target in (entry, erased):
        path = f"{LIST}/{target['id']}"
        assert_error(await client.get(path, headers=stranger.headers), 404, "NOT_FOUND")
        assert_error(await client.delete(path, headers=stranger.headers), 404, "NOT_FOUND")
    for params in ({}, {"email": "ada@example.com"}, {"email": "grace@example.com"}):
        rows, meta = await listed(client, stranger, **params)
        assert rows == []
        assert meta["total"] == 0
    assert await snapshot(database) == before

    # The same address is a different entry in each workspace.
    theirs = await add(client, stranger, email="ada@example.com")
    assert theirs["id"] != entry["id"]
    assert theirs["source"] is None
    assert (await listed(client, workspace))[0][1] == entry


# --- the service other domains call -------------------------------------------------------------


async def test_suppressed_among_names_the_addresses_on_the_list_as_given(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    await add(client, workspace, email="manual@example.com")
    await add(client, workspace, email="bounced@example.com", reason="bounced")
    await add(client, workspace, email="complained@example.com", reason="complained")
    await erased_contact(client, workspace, "erased@example.com")
    await add(client, other_workspace, email="elsewhere@example.com")

    asked = [
        "Manual@Example.com",
        "manual@example.com",
        " bounced@example.com",
        "complained@example.com",
        "ERASED@example.com",
        "fine@example.com",
        "elsewhere@example.com",
    ]
    async with database.transaction() as session:
        service = SuppressionService(Context.bound(session, workspace.id))
        assert await service.suppressed_among(asked) == set(asked) - {
            "fine@example.com",
            "elsewhere@example.com",
        }
        assert await service.suppressed_among([]) == set()
        assert await service.suppressed_among(["fine@example.com"]) == set()


async def test_suppress_adds_if_missing_and_keeps_an_existing_entry(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    manual = await add(client, workspace, email="ada@example.com", source="Phone call")
    async with database.transaction() as session:
        service = SuppressionService(Context.bound(session, workspace.id))
        kept, created = await service.suppress(
            "ADA@example.com", SuppressionReason.BOUNCED, "Campaign 7"
        )
        assert (created, kept.id, kept.reason, kept.source) == (
            False,
            uuid.UUID(manual["id"]),
            SuppressionReason.MANUAL,
            "Phone call",
        )
        new, created = await service.suppress(
            "grace@example.com", SuppressionReason.COMPLAINED, "Campaign 7"
        )
        assert created is True
        assert (new.email, new.reason, new.source) == (
            "grace@example.com",
            SuppressionReason.COMPLAINED,
            "Campaign 7",
        )
        with pytest.raises(ValueError, match="record_erased"):
            await service.suppress("linus@example.com", SuppressionReason.ERASED)

    rows = {r.email: r for r in await stored(database)}
    assert set(rows) == {"ada@example.com", "grace@example.com"}
    assert rows["ada@example.com"].reason == SuppressionReason.MANUAL
    [_, added] = sorted(
        await events_of_type(client, workspace, "suppression.added"),
        key=lambda e: e["sequence"],
    )
    assert added["data"]["record"]["email"] == "grace@example.com"
    assert added["data"]["record"]["reason"] == "complained"
