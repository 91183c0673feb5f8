"""Read-only views of contacts: the timeline (activities, notes and change events, newest
first, merged contacts included), the one-view summary, the full contact GET answers (with its
companies, tags and activity count), and typeahead search."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from rapport.kit.pagination import Cursor, SortSpec
from tests.contacts.requests import (
    API,
    EMBEDDED_FIELDS,
    RECORD_FIELDS,
    log,
    moment,
    new_contact,
    note,
    tag,
)
from tests.helpers import Workspace, add_key, assert_error

pytestmark = pytest.mark.usefixtures("app")

COMPANIES = "/api/v1/companies"
TAGS = "/api/v1/tags"
TASKS = "/api/v1/tasks"

PHONE = "+14155552671"


SUMMARY_FIELDS = {
    "id",
    "name",
    "email",
    "phone",
    "status",
    "lifecycleStage",
    "companies",
    "tags",
    "activityCount",
    "openTaskCount",
    "lastActivityAt",
}


# --- helpers ------------------------------------------------------------------------------------


async def rename(client: httpx.AsyncClient, ws: Workspace, contact_id: str, name: str) -> None:
    response = await client.patch(f"{API}/{contact_id}", json={"name": name}, headers=ws.headers)
    assert response.status_code == 200, response.text


async def delete(client: httpx.AsyncClient, ws: Workspace, contact_id: str) -> None:
    response = await client.delete(f"{API}/{contact_id}", headers=ws.headers)
    assert response.status_code == 200, response.text


async def merge(client: httpx.AsyncClient, ws: Workspace, winner_id: str, loser_id: str) -> None:
    response = await client.post(
        f"{API}/{winner_id}/merge", json={"loserId": loser_id}, headers=ws.headers
    )
    assert response.status_code == 200, response.text


async def new_company(
    client: httpx.AsyncClient, ws: Workspace, name: str, domain: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        COMPANIES, json={"name": name, "domain": domain}, headers=ws.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def join(
    client: httpx.AsyncClient,
    ws: Workspace,
    contact_id: str,
    company_id: str,
    role: str | None = None,
    primary: bool = False,
) -> None:
    response = await client.post(
        f"{API}/{contact_id}/companies",
        json={"companyId": company_id, "role": role, "isPrimary": primary},
        headers=ws.headers,
    )
    assert response.status_code == 201, response.text


async def new_tag(
    client: httpx.AsyncClient, ws: Workspace, key: str, color: str | None = None
) -> str:
    """A tag named after its key in capitals."""
    response = await client.post(
        TAGS, json={"key": key, "name": key.upper(), "color": color}, headers=ws.headers
    )
    assert response.status_code == 201, response.text
    tag_id: str = response.json()["data"]["id"]
    return tag_id


async def new_task(
    client: httpx.AsyncClient, ws: Workspace, contact_id: str, status: str
) -> dict[str, Any]:
    response = await client.post(
        TASKS,
        json={"title": f"A task {status}", "contactId": contact_id, "status": status},
        headers=ws.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def timeline(
    client: httpx.AsyncClient, ws: Workspace, ref: str, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(f"{API}/{ref}/timeline", params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


def labels(items: list[dict[str, Any]]) -> list[str]:
    """Each item as `event:<type>` or `activity:<type>`."""
    return [
        f"event:{i['event']['type']}"
        if i["kind"] == "event"
        else f"activity:{i['activity']['type']}"
        for i in items
    ]


def entry_ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["event"]["id"] if i["kind"] == "event" else i["activity"]["id"] for i in items]


async def summary(client: httpx.AsyncClient, ws: Workspace, ref: str) -> dict[str, Any]:
    response = await client.get(f"{API}/{ref}/summary", headers=ws.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    data: dict[str, Any] = response.json()["data"]
    assert set(data) == SUMMARY_FIELDS
    return data


async def written(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    ws: Workspace,
    json: dict[str, Any] | None = None,
    if_match: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The contact record a write (create, PATCH, DELETE, merge) answered, and its ETag."""
    headers = dict(ws.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    response = await client.request(method, path, json=json, headers=headers)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()["data"]
    assert set(data) == RECORD_FIELDS
    return data, response.headers["ETag"]


async def full(client: httpx.AsyncClient, ws: Workspace, ref: str) -> tuple[dict[str, Any], str]:
    """The contact as GET /contacts/{ref} answers it (with its companies, tags and activity
    count), and the ETag header."""
    response = await client.get(f"{API}/{ref}", headers=ws.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    data: dict[str, Any] = response.json()["data"]
    assert set(data) == RECORD_FIELDS | EMBEDDED_FIELDS
    return data, response.headers["ETag"]


def record_of(data: dict[str, Any]) -> dict[str, Any]:
    """The contact record in a full view: without its companies, tags and activity count."""
    return {k: v for k, v in data.items() if k not in EMBEDDED_FIELDS}


def company_ref(
    company: dict[str, Any], role: str | None = None, primary: bool = False
) -> dict[str, Any]:
    return {
        "id": company["id"],
        "name": company["name"],
        "domain": company["domain"],
        "role": role,
        "isPrimary": primary,
    }


def tag_ref(tag_id: str, key: str, color: str | None = None) -> dict[str, Any]:
    """A tag made by `new_tag`, as a full contact view shows it."""
    return {"id": tag_id, "key": key, "name": key.upper(), "color": color}


async def search(
    client: httpx.AsyncClient, ws: Workspace, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(f"{API}/search", params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def found_names(client: httpx.AsyncClient, ws: Workspace, q: str, **params: Any) -> list[str]:
    rows, _meta = await search(client, ws, q=q, **params)
    return [row["name"] for row in rows]


# --- timeline -----------------------------------------------------------------------------------


async def test_timeline_lists_activities_and_changes_newest_first(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    vip = await new_tag(client, workspace, "vip")
    ada = await new_contact(client, workspace, email="ada@example.com", name="Ada")
    old_call = await log(
        client, workspace, ada["id"], subject="Kick-off", occurredAt="2020-01-02T03:04:05Z"
    )
    await rename(client, workspace, ada["id"], "Ada Lovelace")
    await tag(client, workspace, ada["id"], vip)
    memo = await note(client, workspace, ada["id"], "Prefers email")

    items, meta = await timeline(client, workspace, ada["id"])

    assert labels(items) == [
        "activity:NOTE",
        "event:contact.tagged",
        "event:contact.updated",
        "event:contact.created",
        "activity:CALL",
    ]
    assert meta["total"] == 5
    assert meta["hasMore"] is False
    assert [moment(i["occurredAt"]) for i in items] == sorted(
        (moment(i["occurredAt"]) for i in items), reverse=True
    )
    first, tagged, updated, created, last = items
    assert first["activity"]["id"] == memo["id"]
    assert first["activity"]["content"] == "Prefers email"
    assert first["event"] is None
    assert moment(first["occurredAt"]) == moment(first["activity"]["occurredAt"])
    assert last["activity"]["id"] == old_call["id"]
    assert last["activity"]["subject"] == "Kick-off"
    assert moment(last["occurredAt"]) == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    for item in (tagged, updated, created):
        assert item["activity"] is None
        assert item["event"]["resourceType"] == "contact"
        assert item["event"]["resourceId"] == ada["id"]
        assert moment(item["occurredAt"]) == moment(item["event"]["occurredAt"])
    assert tagged["event"]["data"]["tag"]["key"] == "vip"
    assert updated["event"]["data"]["changes"]["name"] == {
        "before": "Ada",
        "after": "Ada Lovelace",
    }
    assert created["event"]["data"]["record"]["email"] == "ada@example.com"


async def test_timeline_holds_only_the_contacts_own_entries(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")
    bob = await new_contact(client, workspace, email="bob@example.com")
    await note(client, workspace, bob["id"], "About Bob")
    await rename(client, workspace, bob["id"], "Bob")
    company = await new_company(client, workspace, "Acme")
    await join(client, workspace, ada["id"], company["id"])

    items, meta = await timeline(client, workspace, "ada@example.com")

    assert labels(items) == ["event:contact.created"]
    assert meta["total"] == 1


async def test_timeline_includes_contacts_merged_into_it(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await rename(client, workspace, loser["id"], "Loser")
    memo = await note(client, workspace, loser["id"], "Loser note")

    await merge(client, workspace, winner["id"], loser["id"])

    items, meta = await timeline(client, workspace, winner["id"])
    assert labels(items) == [
        "event:contact.merged",
        "activity:NOTE",
        "event:contact.updated",
        "event:contact.created",
        "event:contact.created",
    ]
    assert meta["total"] == 5
    merged, moved_note, loser_update, loser_created, winner_created = items
    assert merged["event"]["resourceId"] == winner["id"]
    assert merged["event"]["data"]["loserId"] == loser["id"]
    assert moved_note["activity"]["id"] == memo["id"]
    assert moved_note["activity"]["contactId"] == winner["id"]
    assert loser_update["event"]["resourceId"] == loser["id"]
    assert loser_created["event"]["resourceId"] == loser["id"]
    assert winner_created["event"]["resourceId"] == winner["id"]
    by_loser, _meta = await timeline(client, workspace, loser["id"])
    assert by_loser == items


async def test_timeline_includes_contacts_merged_through_a_chain(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    b = await new_contact(client, workspace, email="b@example.com")
    a = await new_contact(client, workspace, email="a@example.com")
    c = await new_contact(client, workspace, email="c@example.com")
    await merge(client, workspace, a["id"], c["id"])
    await merge(client, workspace, b["id"], a["id"])

    items, meta = await timeline(client, workspace, b["id"])

    created = {i["event"]["resourceId"] for i in items if i["kind"] == "event"}
    assert created >= {a["id"], b["id"], c["id"]}
    assert labels(items).count("event:contact.created") == 3
    assert meta["total"] == len(items)


async def test_timeline_pages_by_page_and_limit_or_skip_and_take(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")
    for n in range(2):
        await rename(client, workspace, ada["id"], f"Ada {n}")
        await note(client, workspace, ada["id"], f"Note {n}")
    everything, full = await timeline(client, workspace, ada["id"])
    assert full["total"] == 5
    order = entry_ids(everything)

    second, meta = await timeline(client, workspace, ada["id"], page=2, limit=2)
    last, last_meta = await timeline(client, workspace, ada["id"], skip=4, take=2)
    middle, middle_meta = await timeline(client, workspace, ada["id"], skip=1, take=3)

    assert entry_ids(second) == order[2:4]
    assert meta["total"] == 5
    assert meta["skip"] == 2
    assert meta["take"] == 2
    assert meta["page"] == 2
    assert meta["totalPages"] == 3
    assert meta["hasMore"] is True
    assert entry_ids(last) == order[4:]
    assert last_meta["total"] == 5
    assert last_meta["page"] == 3
    assert last_meta["hasMore"] is False
    assert entry_ids(middle) == order[1:4]
    assert middle_meta["hasMore"] is True
    beyond, beyond_meta = await timeline(client, workspace, ada["id"], page=9, limit=2)
    assert beyond == []
    assert beyond_meta["total"] == 5
    assert beyond_meta["hasMore"] is False


async def test_timeline_honours_or_refuses_an_ascending_sort(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")
    await rename(client, workspace, ada["id"], "Ada")

    response = await client.get(
        f"{API}/{ada['id']}/timeline", params={"sortOrder": "asc"}, headers=workspace.headers
    )

    if response.status_code != 400:
        assert response.status_code == 200, response.text
        assert labels(response.json()["data"]) == ["event:contact.created", "event:contact.updated"]


async def test_timeline_refuses_a_cursor(client: httpx.AsyncClient, workspace: Workspace) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")
    shaped = Cursor(
        SortSpec("occurredAt", descending=True), datetime.now(UTC), uuid.uuid4()
    ).encode()
    foreign = Cursor(SortSpec("createdAt", descending=True), datetime.now(UTC), uuid.uuid4())

    for cursor in (shaped, foreign.encode(), "garbage"):
        response = await client.get(
            f"{API}/{ada['id']}/timeline", params={"cursor": cursor}, headers=workspace.headers
        )
        error = assert_error(response, 400, "INVALID_REQUEST")
        assert [d["field"] for d in error["details"]] == ["cursor"]


async def test_timeline_refuses_a_page_larger_than_100(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")

    response = await client.get(
        f"{API}/{ada['id']}/timeline", params={"limit": 101}, headers=workspace.headers
    )

    assert_error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("view", ["timeline", "summary"])
async def test_views_of_an_unknown_or_foreign_contact_are_404(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    view: str,
) -> None:
    foreign = await new_contact(client, other_workspace, email="ada@example.com", externalId="a-1")
    await note(client, other_workspace, foreign["id"], "Secret")

    for ref in (str(uuid.uuid4()), "nobody@example.com", foreign["id"], "ada@example.com", "a-1"):
        response = await client.get(f"{API}/{ref}/{view}", headers=workspace.headers)
        assert_error(response, 404, "NOT_FOUND")
    response = await client.get(f"{API}/{foreign['id']}/{view}", headers=other_workspace.headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("view", ["timeline", "summary"])
async def test_views_need_only_read_scope(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, view: str
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")
    reader = await add_key(database, workspace, ["crm:read"])
    nobody = await add_key(database, workspace, ["crm:ai"])

    allowed = await client.get(f"{API}/{ada['id']}/{view}", headers=reader)
    refused = await client.get(f"{API}/{ada['id']}/{view}", headers=nobody)

    assert allowed.status_code == 200, allowed.text
    error = assert_error(refused, 403, "FORBIDDEN")
    assert "crm:read" in error["message"]


# --- summary ------------------------------------------------------------------------------------


async def test_summary_of_a_contact_with_everything(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(
        client,
        workspace,
        email="ada@example.com",
        name="Ada Lovelace",
        phone="+1 415 555 2671",
        lifecycleStage="CUSTOMER",
        externalId="crm-1",
        properties={"plan": "Pro"},
    )
    other = await new_contact(client, workspace, email="bob@example.com")
    zeta = await new_company(client, workspace, "Zeta", domain="zeta.io")
    alpha = await new_company(client, workspace, "Alpha", domain="alpha.com")
    beta = await new_company(client, workspace, "Beta")
    await join(client, workspace, ada["id"], beta["id"], role="Advisor")
    await join(client, workspace, ada["id"], zeta["id"], role="CTO", primary=True)
    await join(client, workspace, ada["id"], alpha["id"])
    for key in ("vip", "enterprise", "beta-tester"):
        await tag(client, workspace, ada["id"], await new_tag(client, workspace, key))
    await log(client, workspace, ada["id"], occurredAt="2025-05-05T12:00:00Z")
    await log(client, workspace, ada["id"], type="EMAIL", occurredAt="2024-01-01T00:00:00Z")
    await note(client, workspace, ada["id"], "Likes engines")
    await log(client, workspace, other["id"])
    for status in ("open", "in_progress", "in_progress", "done", "cancelled"):
        await new_task(client, workspace, ada["id"], status)
    await new_task(client, workspace, other["id"], "open")
    current = (await client.get(f"{API}/{ada['id']}", headers=workspace.headers)).json()["data"]

    data = await summary(client, workspace, ada["id"])

    assert data["id"] == ada["id"]
    assert data["name"] == "Ada Lovelace"
    assert data["email"] == "ada@example.com"
    assert data["phone"] == PHONE
    assert data["status"] == "ACTIVE"
    assert data["lifecycleStage"] == "CUSTOMER"
    assert data["companies"] == [
        {"id": zeta["id"], "name": "Zeta", "domain": "zeta.io", "role": "CTO", "isPrimary": True},
        {
            "id": alpha["id"],
            "name": "Alpha",
            "domain": "alpha.com",
            "role": None,
            "isPrimary": False,
        },
        {"id": beta["id"], "name": "Beta", "domain": None, "role": "Advisor", "isPrimary": False},
    ]
    assert data["tags"] == ["vip", "enterprise", "beta-tester"]
    assert data["activityCount"] == 3
    assert data["openTaskCount"] == 3
    assert data["lastActivityAt"] == current["lastActivityAt"]
    assert moment(data["lastActivityAt"]) >= datetime(2025, 5, 5, 12, tzinfo=UTC)
    for ref in ("ada@example.com", "crm-1"):
        assert await summary(client, workspace, ref) == data


async def test_summary_of_a_bare_contact(client: httpx.AsyncClient, workspace: Workspace) -> None:
    bare = await new_contact(client, workspace, name="Bare")

    data = await summary(client, workspace, bare["id"])

    assert data == {
        "id": bare["id"],
        "name": "Bare",
        "email": None,
        "phone": None,
        "status": "ACTIVE",
        "lifecycleStage": None,
        "companies": [],
        "tags": [],
        "activityCount": 0,
        "openTaskCount": 0,
        "lastActivityAt": None,
    }


async def test_summary_follows_changes(client: httpx.AsyncClient, workspace: Workspace) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com", name="Ada")
    vip = await new_tag(client, workspace, "vip")
    await tag(client, workspace, ada["id"], vip)
    task = await new_task(client, workspace, ada["id"], "open")
    assert (await summary(client, workspace, ada["id"]))["openTaskCount"] == 1

    done = await client.patch(
        f"{TASKS}/{task['id']}", json={"status": "done"}, headers=workspace.headers
    )
    assert done.status_code == 200, done.text
    untag = await client.delete(f"{API}/{ada['id']}/tags/{vip}", headers=workspace.headers)
    assert untag.status_code == 204, untag.text
    await delete(client, workspace, ada["id"])

    data = await summary(client, workspace, ada["id"])
    assert data["openTaskCount"] == 0
    assert data["tags"] == []
    assert data["status"] == "DELETED"


async def test_summary_of_a_winner_counts_what_it_absorbed(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, "Acme", domain="acme.com")
    winner = await new_contact(client, workspace, name="Winner")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await join(client, workspace, loser["id"], acme["id"], role="Buyer", primary=True)
    await tag(client, workspace, winner["id"], await new_tag(client, workspace, "first"))
    await tag(client, workspace, loser["id"], await new_tag(client, workspace, "second"))
    await log(client, workspace, winner["id"], occurredAt="2024-01-01T00:00:00Z")
    await log(client, workspace, loser["id"], occurredAt="2025-01-01T00:00:00Z")
    await new_task(client, workspace, loser["id"], "open")

    await merge(client, workspace, winner["id"], loser["id"])

    data = await summary(client, workspace, loser["id"])
    assert data["id"] == winner["id"]
    assert data["name"] == "Winner"
    assert data["email"] == "lose@example.com"
    assert data["companies"] == [
        {"id": acme["id"], "name": "Acme", "domain": "acme.com", "role": "Buyer", "isPrimary": True}
    ]
    assert data["tags"] == ["first", "second"]
    assert data["activityCount"] == 2
    assert data["openTaskCount"] == 1
    assert moment(data["lastActivityAt"]) == datetime(2025, 1, 1, tzinfo=UTC)


# --- full contact -------------------------------------------------------------------------------


async def test_full_contact_carries_its_companies_tags_and_activity_count(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada, etag = await written(
        client,
        "POST",
        API,
        workspace,
        json={
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": PHONE,
            "lifecycleStage": "CUSTOMER",
            "externalId": "crm-1",
            "properties": {"plan": "Pro"},
        },
    )
    other = await new_contact(client, workspace, email="bob@example.com")
    zeta = await new_company(client, workspace, "Zeta", domain="zeta.io")
    alpha = await new_company(client, workspace, "Alpha", domain="alpha.com")
    beta = await new_company(client, workspace, "Beta")
    await join(client, workspace, ada["id"], beta["id"], role="Advisor")
    await join(client, workspace, ada["id"], zeta["id"], role="CTO", primary=True)
    await join(client, workspace, ada["id"], alpha["id"])
    await join(client, workspace, other["id"], beta["id"], primary=True)
    vip = await new_tag(client, workspace, "vip", color="#FFD700")
    enterprise = await new_tag(client, workspace, "enterprise")
    tester = await new_tag(client, workspace, "beta-tester", color="#00aa00")
    for tag_id in (tester, vip, enterprise):
        await tag(client, workspace, ada["id"], tag_id)
    await tag(client, workspace, other["id"], await new_tag(client, workspace, "other"))
    on_company = await client.post(
        f"{COMPANIES}/{zeta['id']}/tags", json={"tagId": vip}, headers=workspace.headers
    )
    assert on_company.status_code == 201, on_company.text
    await log(client, workspace, ada["id"], occurredAt="2025-05-05T12:00:00Z")
    await log(client, workspace, ada["id"], type="EMAIL", occurredAt="2024-01-01T00:00:00Z")
    await note(client, workspace, ada["id"], "Likes engines")
    await log(client, workspace, other["id"])
    of_company = await client.post(
        "/api/v1/activities",
        json={"type": "MEETING", "companyId": zeta["id"]},
        headers=workspace.headers,
    )
    assert of_company.status_code == 201, of_company.text
    await new_task(client, workspace, ada["id"], "open")

    data, etag_now = await full(client, workspace, ada["id"])

    assert data["companies"] == [
        company_ref(zeta, role="CTO", primary=True),
        company_ref(alpha),
        company_ref(beta, role="Advisor"),
    ]
    assert data["tags"] == [
        tag_ref(tester, "beta-tester", "#00AA00"),
        tag_ref(vip, "vip", "#FFD700"),
        tag_ref(enterprise, "enterprise"),
    ]
    assert data["activityCount"] == 3
    assert data["lastActivityAt"] is not None
    assert moment(data["lastActivityAt"]) >= datetime(2025, 5, 5, 12, tzinfo=UTC)
    assert record_of(data) == {**ada, "lastActivityAt": data["lastActivityAt"]}
    assert etag_now == etag
    for ref in ("ada@example.com", "ADA@example.com", "crm-1"):
        assert await full(client, workspace, ref) == (data, etag), ref


async def test_full_view_of_a_bare_contact(client: httpx.AsyncClient, workspace: Workspace) -> None:
    bare, etag = await written(client, "POST", API, workspace, json={"name": "Bare"})
    await new_company(client, workspace, "Acme")
    await new_tag(client, workspace, "vip")

    data, etag_now = await full(client, workspace, bare["id"])

    assert data == {**bare, "companies": [], "tags": [], "activityCount": 0}
    assert etag_now == etag


async def test_full_view_follows_its_parts_while_the_etag_follows_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada, created_etag = await written(
        client, "POST", API, workspace, json={"email": "ada@example.com", "name": "Ada"}
    )
    acme = await new_company(client, workspace, "Acme", domain="acme.com")
    globex = await new_company(client, workspace, "Globex")
    await join(client, workspace, ada["id"], acme["id"], role="CEO", primary=True)
    await join(client, workspace, ada["id"], globex["id"], role="Advisor")
    vip = await new_tag(client, workspace, "vip")
    gold = await new_tag(client, workspace, "gold")
    await tag(client, workspace, ada["id"], vip)
    await tag(client, workspace, ada["id"], gold)
    call = await log(client, workspace, ada["id"], occurredAt="2024-01-01T00:00:00Z")

    before, etag = await full(client, workspace, ada["id"])
    assert etag == created_etag
    assert [c["id"] for c in before["companies"]] == [acme["id"], globex["id"]]
    assert [t["key"] for t in before["tags"]] == ["vip", "gold"]
    assert before["activityCount"] == 1

    patched, patched_etag = await written(
        client,
        "PATCH",
        f"{API}/{ada['id']}",
        workspace,
        json={"name": "Ada Lovelace"},
        if_match=etag,
    )
    assert patched_etag != etag
    untag = await client.delete(f"{API}/{ada['id']}/tags/{vip}", headers=workspace.headers)
    assert untag.status_code == 204, untag.text
    leave = await client.delete(
        f"{API}/{ada['id']}/companies/{acme['id']}", headers=workspace.headers
    )
    assert leave.status_code == 204, leave.text
    recolored = await client.patch(
        f"{TAGS}/{gold}",
        json={"name": "Gold Customer", "color": "#D4AF37"},
        headers=workspace.headers,
    )
    assert recolored.status_code == 200, recolored.text
    await log(client, workspace, ada["id"], occurredAt="2025-01-01T00:00:00Z")
    await note(client, workspace, ada["id"], "Met at the fair")

    after, etag_after = await full(client, workspace, ada["id"])

    assert after["companies"] == [company_ref(globex, role="Advisor")]
    assert after["tags"] == [
        {"id": gold, "key": "gold", "name": "Gold Customer", "color": "#D4AF37"}
    ]
    assert after["activityCount"] == 3
    assert record_of(after) == {**patched, "lastActivityAt": after["lastActivityAt"]}
    assert etag_after == patched_etag

    gone = await client.delete(f"/api/v1/activities/{call['id']}", headers=workspace.headers)
    assert gone.status_code == 204, gone.text
    await tag(client, workspace, ada["id"], vip)

    last, etag_last = await full(client, workspace, ada["id"])
    assert [t["key"] for t in last["tags"]] == ["gold", "vip"]
    assert last["activityCount"] == 2
    assert etag_last == patched_etag
    renamed, _etag = await written(
        client, "PATCH", f"{API}/{ada['id']}", workspace, json={"name": "C"}, if_match=etag_last
    )
    assert renamed["name"] == "C"


async def test_full_view_of_a_merged_loser_is_the_winners_with_what_it_absorbed(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, "Acme", domain="acme.com")
    alpha = await new_company(client, workspace, "Alpha")
    winner = await new_contact(client, workspace, name="Winner")
    loser = await new_contact(client, workspace, email="lose@example.com", externalId="l-1")
    first = await new_tag(client, workspace, "first")
    second = await new_tag(client, workspace, "second", color="#123456")
    await join(client, workspace, winner["id"], alpha["id"], role="Founder")
    await join(client, workspace, loser["id"], alpha["id"], role="Intern")
    await join(client, workspace, loser["id"], acme["id"], role="Buyer", primary=True)
    await tag(client, workspace, winner["id"], first)
    await tag(client, workspace, loser["id"], second)
    await tag(client, workspace, loser["id"], first)
    await log(client, workspace, winner["id"], occurredAt="2024-01-01T00:00:00Z")
    await log(client, workspace, loser["id"], occurredAt="2025-01-01T00:00:00Z")
    await note(client, workspace, loser["id"], "Loser note")

    result, etag = await written(
        client, "POST", f"{API}/{winner['id']}/merge", workspace, json={"loserId": loser["id"]}
    )

    data, etag_now = await full(client, workspace, loser["id"])
    assert data["id"] == winner["id"]
    assert data["name"] == "Winner"
    assert data["email"] == "lose@example.com"
    assert data["companies"] == [
        company_ref(acme, role="Buyer", primary=True),
        company_ref(alpha, role="Founder"),
    ]
    assert data["tags"] == [tag_ref(first, "first"), tag_ref(second, "second", "#123456")]
    assert data["activityCount"] == 3
    assert record_of(data) == result
    assert etag_now == etag
    for ref in (winner["id"], "lose@example.com", "l-1"):
        assert await full(client, workspace, ref) == (data, etag), ref


async def test_a_deleted_company_or_tag_leaves_the_full_view(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada, etag = await written(client, "POST", API, workspace, json={"name": "Ada"})
    acme = await new_company(client, workspace, "Acme", domain="acme.com")
    globex = await new_company(client, workspace, "Globex")
    await join(client, workspace, ada["id"], acme["id"], role="CEO", primary=True)
    await join(client, workspace, ada["id"], globex["id"])
    vip = await new_tag(client, workspace, "vip")
    gold = await new_tag(client, workspace, "gold")
    await tag(client, workspace, ada["id"], vip)
    await tag(client, workspace, ada["id"], gold)

    for path in (f"{COMPANIES}/{acme['id']}", f"{TAGS}/{vip}"):
        response = await client.delete(path, headers=workspace.headers)
        assert response.status_code == 204, response.text

    data, etag_now = await full(client, workspace, ada["id"])
    assert data["companies"] == [company_ref(globex)]
    assert data["tags"] == [tag_ref(gold, "gold")]
    assert record_of(data) == ada
    assert etag_now == etag


async def test_only_get_of_one_contact_embeds_companies_tags_and_activity_count(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, "Acme", domain="acme.com")
    vip = await new_tag(client, workspace, "vip")
    ada = await new_contact(client, workspace, email="ada@example.com", name="Ada")
    bob = await new_contact(client, workspace, email="bob@example.com", name="Bob")
    for contact in (ada, bob):
        await join(client, workspace, contact["id"], acme["id"], primary=True)
        await tag(client, workspace, contact["id"], vip)
        await log(client, workspace, contact["id"])
    data, _etag = await full(client, workspace, ada["id"])
    assert data["companies"]
    assert data["tags"]
    assert data["activityCount"] == 1

    patched, _etag = await written(
        client, "PATCH", f"{API}/{ada['id']}", workspace, json={"name": "Ada Lovelace"}
    )
    listed = await client.get(API, headers=workspace.headers)
    by_company = await client.get(API, params={"companyId": acme["id"]}, headers=workspace.headers)
    found, _meta = await search(client, workspace, q="ada")
    resolved = await client.post(
        f"{API}/resolve", json={"email": "ada@example.com"}, headers=workspace.headers
    )
    merged, _etag = await written(
        client, "POST", f"{API}/{ada['id']}/merge", workspace, json={"loserId": bob["id"]}
    )
    deleted, _etag = await written(client, "DELETE", f"{API}/{ada['id']}", workspace)

    assert patched["name"] == "Ada Lovelace"
    for response in (listed, by_company, resolved):
        assert response.status_code == 200, response.text
    rows = [*listed.json()["data"], *by_company.json()["data"], *found]
    assert {r["id"] for r in rows} == {ada["id"], bob["id"]}
    match = resolved.json()["data"]["match"]
    candidates = [c["contact"] for c in resolved.json()["data"]["candidates"]]
    assert match["id"] == ada["id"]
    for row in [*rows, match, *candidates]:
        assert set(row) == RECORD_FIELDS
    assert merged["id"] == deleted["id"] == ada["id"]


# --- typeahead search ---------------------------------------------------------------------------


async def test_search_matches_name_email_or_phone_without_case(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await new_contact(client, workspace, name="Ada Lovelace", email="ada@analytical.org")
    await new_contact(client, workspace, name="Charles Babbage", email="charles@engines.co")
    await new_contact(client, workspace, name="Grace Hopper", phone=PHONE)
    await new_contact(client, workspace, email="anon@example.com")

    assert await found_names(client, workspace, "LOVE") == ["Ada Lovelace"]
    assert await found_names(client, workspace, "ENGINES.CO") == ["Charles Babbage"]
    assert await found_names(client, workspace, "5552671") == ["Grace Hopper"]
    assert await found_names(client, workspace, "+1415") == ["Grace Hopper"]
    assert await found_names(client, workspace, "a") == [
        "Ada Lovelace",
        None,
        "Charles Babbage",
        "Grace Hopper",
    ]
    assert await found_names(client, workspace, "nothing-like-this") == []


async def test_search_ranks_starts_then_word_starts_then_the_rest(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for name in ("Joanna Lind", "Anna Zed", "Hannah Andersen", "Ann Lee", "Bo Annett"):
        await new_contact(client, workspace, name=name)
    await new_contact(client, workspace, email="annie@example.com")

    rows, meta = await search(client, workspace, q="ann")

    assert [r["name"] or r["email"] for r in rows] == [
        "Ann Lee",
        "Anna Zed",
        "annie@example.com",
        "Bo Annett",
        "Hannah Andersen",
        "Joanna Lind",
    ]
    assert meta["total"] is None


async def test_search_orders_by_name(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for name in ("Mia Stone", "Ben Stone", "Zoe Stone", "Ann Stone"):
        await new_contact(client, workspace, name=name)

    rows, meta = await search(client, workspace, q="stone")

    assert [r["name"] for r in rows] == ["Ann Stone", "Ben Stone", "Mia Stone", "Zoe Stone"]
    assert meta["hasMore"] is False


async def test_search_respects_the_limit(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for n in range(22):
        await new_contact(client, workspace, name=f"Match {n:02d}")
    await new_contact(client, workspace, name="Other")

    default, default_meta = await search(client, workspace, q="match")
    three, three_meta = await search(client, workspace, q="match", limit=3)
    most, _meta = await search(client, workspace, q="match", limit=100)

    assert [r["name"] for r in default] == [f"Match {n:02d}" for n in range(20)]
    assert default_meta["take"] == 20
    assert default_meta["hasMore"] is True
    assert [r["name"] for r in three] == ["Match 00", "Match 01", "Match 02"]
    assert three_meta["hasMore"] is True
    assert len(most) == 22


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "ada", "limit": 0}, "limit"),
        ({"q": "ada", "limit": 101}, "limit"),
        ({"q": "ada", "limit": "many"}, "limit"),
    ],
    ids=["missing", "empty", "blank", "limit-0", "limit-101", "limit-text"],
)
async def test_search_refuses_bad_parameters(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, Any], field: str
) -> None:
    await new_contact(client, workspace, name="Ada")

    response = await client.get(f"{API}/search", params=params, headers=workspace.headers)

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert field in {d.get("field") for d in error["details"]}


async def test_search_treats_wildcards_literally(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await new_contact(client, workspace, name="100% Real")
    await new_contact(client, workspace, name="Plain")

    assert await found_names(client, workspace, "%") == ["100% Real"]
    assert await found_names(client, workspace, "_") == []


async def test_search_skips_deleted_and_merged_contacts(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    live = await new_contact(client, workspace, name="Sam Live")
    gone = await new_contact(client, workspace, name="Sam Gone")
    winner = await new_contact(client, workspace, name="Winner", email="win@example.com")
    loser = await new_contact(client, workspace, name="Sam Loser", email="sam@example.com")
    await delete(client, workspace, gone["id"])
    await merge(client, workspace, winner["id"], loser["id"])

    rows, meta = await search(client, workspace, q="sam")

    assert [r["id"] for r in rows] == [live["id"]]
    assert meta["hasMore"] is False


async def test_search_only_sees_the_callers_workspace(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await new_contact(client, other_workspace, name="Ada Elsewhere", email="ada@example.com")
    mine = await new_contact(client, workspace, name="Ada Here")

    rows, meta = await search(client, workspace, q="ada")

    assert [r["id"] for r in rows] == [mine["id"]]
    assert meta["hasMore"] is False
    assert await found_names(client, workspace, "example.com") == []


async def test_search_ignores_case_beyond_ascii(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await new_contact(client, workspace, name="Élodie Durand")

    for q in ("Élodie", "élodie", "ÉLODIE"):
        assert await found_names(client, workspace, q) == ["Élodie Durand"], q
