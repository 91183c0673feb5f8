"""Merging contacts (the winner absorbs the loser's companies, tags, activities, notes and
tasks; the loser stays as MERGED and resolves to the winner), identity resolution by email,
phone, externalId or name, and upsert on create."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rapport.contacts.schemas import ContactUpsert
from rapport.contacts.service import ContactService
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models import CompanyMembership, ContactTag
from tests.contacts.requests import API, as_read, log, moment, new_contact, note, tag
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, assert_error, snapshot

pytestmark = pytest.mark.usefixtures("app")

COMPANIES = "/api/v1/companies"
TAGS = "/api/v1/tags"
TASKS = "/api/v1/tasks"
EVENTS = "/api/v1/events"

PHONE = "+14155552671"
OTHER_PHONE = "+442079460958"

# What GET /contacts/{ref} adds to the record; writes (merge and upsert included) answer the
# record alone.


# --- helpers ------------------------------------------------------------------------------------


async def fetch(client: httpx.AsyncClient, ws: Workspace, ref: str) -> httpx.Response:
    return await client.get(f"{API}/{ref}", headers=ws.headers)


async def fetched(client: httpx.AsyncClient, ws: Workspace, ref: str) -> dict[str, Any]:
    response = await fetch(client, ws, ref)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def merge(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    winner_ref: str,
    loser_id: Any,
) -> httpx.Response:
    return await client.post(
        f"{API}/{winner_ref}/merge", json={"loserId": loser_id}, headers=headers
    )


async def merged(
    client: httpx.AsyncClient, ws: Workspace, winner_ref: str, loser_id: str
) -> dict[str, Any]:
    response = await merge(client, ws.headers, winner_ref, loser_id)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def listing(
    client: httpx.AsyncClient, ws: Workspace, path: str = API, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(path, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def events(
    client: httpx.AsyncClient, ws: Workspace, event_type: str, **params: Any
) -> list[dict[str, Any]]:
    """Events of one type, newest first."""
    return await listing(client, ws, EVENTS, type=event_type, **params)


async def new_company(client: httpx.AsyncClient, ws: Workspace, name: str) -> dict[str, Any]:
    response = await client.post(COMPANIES, json={"name": name}, headers=ws.headers)
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
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/{contact_id}/companies",
        json={"companyId": company_id, "role": role, "isPrimary": primary},
        headers=ws.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def memberships(
    client: httpx.AsyncClient, ws: Workspace, contact_ref: str
) -> dict[str, dict[str, Any]]:
    """The contact's memberships by company id."""
    rows = await listing(client, ws, f"{API}/{contact_ref}/company-memberships")
    return {row["companyId"]: row for row in rows}


async def new_tag(client: httpx.AsyncClient, ws: Workspace, key: str) -> str:
    response = await client.post(TAGS, json={"key": key, "name": key.upper()}, headers=ws.headers)
    assert response.status_code == 201, response.text
    tag_id: str = response.json()["data"]["id"]
    return tag_id


async def tag_keys(client: httpx.AsyncClient, ws: Workspace, contact_ref: str) -> list[str]:
    response = await client.get(f"{API}/{contact_ref}/tags", headers=ws.headers)
    assert response.status_code == 200, response.text
    return [t["key"] for t in response.json()["data"]]


async def new_task(
    client: httpx.AsyncClient, ws: Workspace, contact_id: str, title: str
) -> dict[str, Any]:
    response = await client.post(
        TASKS, json={"title": title, "contactId": contact_id}, headers=ws.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def count_rows(database: Database, model: Any, contact_id: str) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        found = await session.scalar(
            select(func.count()).select_from(model).where(model.contact_id == uuid.UUID(contact_id))
        )
    return int(found or 0)


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


async def resolve(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/resolve", json=body, headers=ws.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    data: dict[str, Any] = response.json()["data"]
    assert set(data) == {"match", "candidates"}
    return data


def scored(result: dict[str, Any]) -> list[tuple[str, float, list[str]]]:
    return [(c["contact"]["id"], c["score"], c["reasons"]) for c in result["candidates"]]


async def upsert(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> httpx.Response:
    return await client.post(API, json={"upsert": True, **body}, headers=ws.headers)


# --- scope and response -------------------------------------------------------------------------


async def test_merge_needs_admin_scope(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)

    response = await merge(client, writer, winner["id"], loser["id"])

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:admin" in error["message"]
    assert await snapshot(database) == before
    assert (await fetched(client, workspace, loser["id"]))["status"] == "ACTIVE"


async def test_merge_with_admin_only_key_returns_winner_with_its_etag(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com", name="Win")
    loser = await new_contact(client, workspace, email="lose@example.com")
    admin = await add_key(database, workspace, ["crm:admin"])

    response = await merge(client, admin, winner["id"], loser["id"])

    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert data["id"] == winner["id"]
    assert data["status"] == "ACTIVE"
    assert data["mergedIntoId"] is None
    again = await fetch(client, workspace, winner["id"])
    assert again.json()["data"] == as_read(data)
    assert response.headers["ETag"] == again.headers["ETag"]


async def test_merge_names_the_winner_by_email_or_external_id(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com", externalId="w-1")
    first = await new_contact(client, workspace, email="one@example.com")
    second = await new_contact(client, workspace, email="two@example.com")

    by_email = await merged(client, workspace, "WIN@example.com", first["id"])
    by_external_id = await merged(client, workspace, "w-1", second["id"])

    assert by_email["id"] == winner["id"]
    assert by_external_id["id"] == winner["id"]
    for loser in (first, second):
        assert (await fetched(client, workspace, loser["id"]))["id"] == winner["id"]


# --- what the winner absorbs --------------------------------------------------------------------


async def test_winner_absorbs_memberships_keeping_its_own_primary(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    shared = await new_company(client, workspace, "Shared")
    loser_primary = await new_company(client, workspace, "Loser Primary")
    loser_other = await new_company(client, workspace, "Loser Other")
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    kept = await join(client, workspace, winner["id"], shared["id"], role="CEO", primary=True)
    await join(client, workspace, loser["id"], shared["id"], role="Intern")
    await join(client, workspace, loser["id"], loser_primary["id"], role="CTO", primary=True)
    await join(client, workspace, loser["id"], loser_other["id"], role="Advisor")

    await merged(client, workspace, winner["id"], loser["id"])

    rows = await memberships(client, workspace, winner["id"])
    assert set(rows) == {shared["id"], loser_primary["id"], loser_other["id"]}
    assert rows[shared["id"]]["id"] == kept["id"]
    assert rows[shared["id"]]["role"] == "CEO"
    assert rows[shared["id"]]["isPrimary"] is True
    assert rows[loser_primary["id"]]["role"] == "CTO"
    assert rows[loser_primary["id"]]["isPrimary"] is False
    assert rows[loser_other["id"]]["role"] == "Advisor"
    assert rows[loser_other["id"]]["isPrimary"] is False
    assert all(row["contactId"] == winner["id"] for row in rows.values())
    assert await count_rows(database, CompanyMembership, loser["id"]) == 0
    for company in (shared, loser_primary, loser_other):
        members = await listing(client, workspace, f"{COMPANIES}/{company['id']}/contacts")
        assert [m["contact"]["id"] for m in members] == [winner["id"]]


async def test_loser_primary_stays_primary_when_the_winner_has_none(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    theirs = await new_company(client, workspace, "Theirs")
    mine = await new_company(client, workspace, "Mine")
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await join(client, workspace, winner["id"], mine["id"], role="Buyer")
    await join(client, workspace, loser["id"], theirs["id"], role="CTO", primary=True)

    await merged(client, workspace, winner["id"], loser["id"])

    rows = await memberships(client, workspace, winner["id"])
    assert {cid: row["isPrimary"] for cid, row in rows.items()} == {
        theirs["id"]: True,
        mine["id"]: False,
    }


async def test_winner_gets_the_union_of_tags_without_duplicates(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    alpha, both, omega = (
        await new_tag(client, workspace, "alpha"),
        await new_tag(client, workspace, "both"),
        await new_tag(client, workspace, "omega"),
    )
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await tag(client, workspace, winner["id"], alpha)
    await tag(client, workspace, winner["id"], both)
    await tag(client, workspace, loser["id"], both)
    await tag(client, workspace, loser["id"], omega)

    await merged(client, workspace, winner["id"], loser["id"])

    keys = await tag_keys(client, workspace, winner["id"])
    assert sorted(keys) == ["alpha", "both", "omega"]
    assert await count_rows(database, ContactTag, winner["id"]) == 3
    assert await count_rows(database, ContactTag, loser["id"]) == 0


async def test_winner_absorbs_activities_notes_and_tasks(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    own = await log(client, workspace, winner["id"], subject="Winner call")
    call = await log(client, workspace, loser["id"], type="MEETING", subject="Loser meeting")
    loser_note = await note(client, workspace, loser["id"], "Prefers email")
    task = await new_task(client, workspace, loser["id"], "Send the proposal")
    own_task = await new_task(client, workspace, winner["id"], "Call back")

    await merged(client, workspace, winner["id"], loser["id"])

    activities = await listing(client, workspace, f"{API}/{winner['id']}/activities")
    assert {a["id"] for a in activities} == {own["id"], call["id"], loser_note["id"]}
    assert {a["contactId"] for a in activities} == {winner["id"]}
    notes = await listing(client, workspace, f"{API}/{winner['id']}/notes")
    assert [n["id"] for n in notes] == [loser_note["id"]]
    assert notes[0]["contactId"] == winner["id"]
    for task_id in (task["id"], own_task["id"]):
        response = await client.get(f"{TASKS}/{task_id}", headers=workspace.headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["contactId"] == winner["id"]
    tasks = await listing(client, workspace, TASKS)
    assert {t["contactId"] for t in tasks} == {winner["id"]}


async def test_empty_winner_fields_are_filled_from_the_loser(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, phone=PHONE)
    loser = await new_contact(
        client,
        workspace,
        email="Ada@Example.com",
        phone=OTHER_PHONE,
        externalId="crm-7",
        name="Ada Lovelace",
        givenName="Ada",
        familyName="Lovelace",
        lifecycleStage="CUSTOMER",
    )

    data = await merged(client, workspace, winner["id"], loser["id"])

    assert data["email"] == "ada@example.com"
    assert data["phone"] == PHONE
    assert data["externalId"] == "crm-7"
    assert data["name"] == "Ada Lovelace"
    assert data["givenName"] == "Ada"
    assert data["familyName"] == "Lovelace"
    assert data["lifecycleStage"] == "CUSTOMER"
    assert data["isIdentified"] is True
    assert await fetched(client, workspace, "ada@example.com") == as_read(data)
    assert await fetched(client, workspace, "crm-7") == as_read(data)


async def test_filled_winner_fields_are_kept(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(
        client,
        workspace,
        email="win@example.com",
        phone=PHONE,
        externalId="w-1",
        name="Winner Name",
        givenName="Winner",
        familyName="Name",
        lifecycleStage="LEAD",
    )
    loser = await new_contact(
        client,
        workspace,
        email="lose@example.com",
        phone=OTHER_PHONE,
        externalId="l-1",
        name="Loser Name",
        givenName="Loser",
        familyName="Other",
        lifecycleStage="CUSTOMER",
    )

    data = await merged(client, workspace, winner["id"], loser["id"])

    for field in (
        "email",
        "phone",
        "externalId",
        "name",
        "givenName",
        "familyName",
        "lifecycleStage",
    ):
        assert data[field] == winner[field], field


async def test_properties_merge_with_the_winner_keys_winning(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(
        client, workspace, email="win@example.com", properties={"plan": "Pro", "seats": 5}
    )
    loser = await new_contact(
        client,
        workspace,
        email="lose@example.com",
        properties={"plan": "Free", "source": "webinar", "score": 12},
    )

    data = await merged(client, workspace, winner["id"], loser["id"])

    assert data["properties"] == {"plan": "Pro", "seats": 5, "source": "webinar", "score": 12}
    assert (await fetched(client, workspace, winner["id"]))["properties"] == data["properties"]


async def test_last_activity_at_is_the_later_of_the_two(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    earlier, later = "2024-03-01T10:00:00Z", "2025-06-01T10:00:00Z"
    late_loser_winner = await new_contact(client, workspace, email="a@example.com")
    late_loser = await new_contact(client, workspace, email="b@example.com")
    late_winner = await new_contact(client, workspace, email="c@example.com")
    early_loser = await new_contact(client, workspace, email="d@example.com")
    idle_loser = await new_contact(client, workspace, email="e@example.com")
    await log(client, workspace, late_loser_winner["id"], occurredAt=earlier)
    await log(client, workspace, late_loser["id"], occurredAt=later)
    await log(client, workspace, late_winner["id"], occurredAt=later)
    await log(client, workspace, early_loser["id"], occurredAt=earlier)

    taken = await merged(client, workspace, late_loser_winner["id"], late_loser["id"])
    kept = await merged(client, workspace, late_winner["id"], early_loser["id"])
    still = await merged(client, workspace, late_winner["id"], idle_loser["id"])

    assert moment(taken["lastActivityAt"]) == moment(later)
    assert moment(kept["lastActivityAt"]) == moment(later)
    assert moment(still["lastActivityAt"]) == moment(later)


# --- the loser afterwards -----------------------------------------------------------------------


async def test_loser_stays_as_merged_and_only_status_merged_lists_it(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com", externalId="l-1")
    bystander = await new_contact(client, workspace, email="other@example.com")

    await merged(client, workspace, winner["id"], loser["id"])

    default = await listing(client, workspace)
    assert {c["id"] for c in default} == {winner["id"], bystander["id"]}
    gone = await listing(client, workspace, status="MERGED")
    assert [c["id"] for c in gone] == [loser["id"]]
    assert gone[0]["status"] == "MERGED"
    assert gone[0]["mergedIntoId"] == winner["id"]
    assert gone[0]["email"] == "lose@example.com"
    assert gone[0]["externalId"] == "l-1"
    assert await listing(client, workspace, status="ACTIVE") == default


async def test_loser_id_email_and_external_id_resolve_to_the_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com", externalId="w-1")
    loser = await new_contact(client, workspace, email="lose@example.com", externalId="l-1")

    data = await merged(client, workspace, winner["id"], loser["id"])

    assert data["email"] == "win@example.com"
    for ref in (loser["id"], "lose@example.com", "LOSE@example.com", "l-1"):
        response = await fetch(client, workspace, ref)
        assert response.status_code == 200, (ref, response.text)
        assert response.json()["data"] == as_read(data), ref


async def test_loser_email_resolves_to_the_winner_that_took_it(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, name="No Email")
    loser = await new_contact(client, workspace, email="lose@example.com")

    data = await merged(client, workspace, winner["id"], loser["id"])

    assert data["email"] == "lose@example.com"
    assert (await fetched(client, workspace, "lose@example.com"))["id"] == winner["id"]
    assert (await fetched(client, workspace, loser["id"]))["id"] == winner["id"]


async def test_loser_email_is_free_again_when_the_winner_did_not_take_it(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com", externalId="w-1")
    loser = await new_contact(client, workspace, email="lose@example.com", externalId="l-1")
    await merged(client, workspace, winner["id"], loser["id"])

    fresh = await new_contact(client, workspace, email="lose@example.com", externalId="l-1")

    assert fresh["id"] not in (winner["id"], loser["id"])
    assert (await fetched(client, workspace, "lose@example.com"))["id"] == fresh["id"]
    assert (await fetched(client, workspace, "l-1"))["id"] == fresh["id"]
    assert (await fetched(client, workspace, loser["id"]))["id"] == winner["id"]


async def test_loser_email_taken_by_the_winner_stays_taken(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    winner = await new_contact(client, workspace, name="No Email")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await merged(client, workspace, winner["id"], loser["id"])
    before = await snapshot(database)

    response = await client.post(API, json={"email": "lose@example.com"}, headers=workspace.headers)

    assert_error(response, 409, "CONTACT_EMAIL_EXISTS")
    assert await snapshot(database) == before


async def test_activities_and_tasks_posted_for_a_merged_loser_go_to_the_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await merged(client, workspace, winner["id"], loser["id"])

    activity = await client.post(
        "/api/v1/activities",
        json={"type": "CALL", "contactId": loser["id"]},
        headers=workspace.headers,
    )
    task = await client.post(
        TASKS, json={"title": "Follow up", "contactId": loser["id"]}, headers=workspace.headers
    )

    assert activity.status_code == 201, activity.text
    assert task.status_code == 201, task.text
    assert activity.json()["data"]["contactId"] == winner["id"]
    assert task.json()["data"]["contactId"] == winner["id"]
    listed = await listing(client, workspace, f"{API}/{winner['id']}/activities")
    assert [a["id"] for a in listed] == [activity.json()["data"]["id"]]


async def test_merge_records_a_contact_merged_event_on_the_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    company = await new_company(client, workspace, "Acme")
    vip = await new_tag(client, workspace, "vip")
    winner = await new_contact(client, workspace, name="Winner", properties={"plan": "Pro"})
    loser = await new_contact(
        client, workspace, email="lose@example.com", properties={"plan": "Free", "seats": 3}
    )
    await join(client, workspace, loser["id"], company["id"])
    await tag(client, workspace, loser["id"], vip)
    await log(client, workspace, loser["id"])
    await note(client, workspace, loser["id"], "A note")
    await new_task(client, workspace, loser["id"], "Follow up")

    data = await merged(client, workspace, winner["id"], loser["id"])

    found = await events(client, workspace, "contact.merged")
    assert len(found) == 1
    event = found[0]
    assert event["resourceType"] == "contact"
    assert event["resourceId"] == winner["id"]
    assert event["data"]["winnerId"] == winner["id"]
    assert event["data"]["loserId"] == loser["id"]
    assert event["data"]["moved"] == {
        "memberships": 1,
        "tags": 1,
        "activities": 2,
        "tasks": 1,
        "syncLinks": 0,
        "leads": 0,
        "staticLists": 0,
    }
    changes = event["data"]["changes"]
    assert changes["email"] == {"before": None, "after": "lose@example.com"}
    assert changes["properties"] == {
        "before": {"plan": "Pro"},
        "after": {"plan": "Pro", "seats": 3},
    }
    assert changes["isIdentified"] == {"before": False, "after": True}
    assert "name" not in changes
    assert event["data"]["record"] == data
    by_resource = await events(client, workspace, "contact.merged", resourceId=winner["id"])
    assert [e["id"] for e in by_resource] == [event["id"]]


# --- refusals -----------------------------------------------------------------------------------


async def test_merging_a_contact_with_itself_is_refused(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace, email="ada@example.com", externalId="a-1")
    before = await snapshot(database)

    for ref in (contact["id"], "ada@example.com", "ADA@example.com", "a-1"):
        response = await merge(client, workspace.headers, ref, contact["id"])
        error = assert_error(response, 400, "INVALID_REQUEST")
        assert "itself" in error["message"]

    assert await snapshot(database) == before


async def test_merging_an_already_merged_loser_is_refused(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    first = await new_contact(client, workspace, email="first@example.com")
    second = await new_contact(client, workspace, email="second@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await merged(client, workspace, first["id"], loser["id"])
    before = await snapshot(database)

    response = await merge(client, workspace.headers, second["id"], loser["id"])

    error = assert_error(response, 409, "CONTACT_MERGED")
    assert loser["id"] in error["message"]
    assert await snapshot(database) == before
    gone = await listing(client, workspace, status="MERGED")
    assert [(c["id"], c["mergedIntoId"]) for c in gone] == [(loser["id"], first["id"])]


async def test_opposite_merges_sent_at_once_make_exactly_one_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for pair in range(5):
        x = await new_contact(client, workspace, email=f"x{pair}@example.com")
        y = await new_contact(client, workspace, email=f"y{pair}@example.com")

        answers = await asyncio.gather(
            merge(client, workspace.headers, x["id"], y["id"]),
            merge(client, workspace.headers, y["id"], x["id"]),
        )

        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        won = next(a for a in answers if a.status_code == 200).json()["data"]
        lost = next(a for a in answers if a.status_code == 409)
        assert assert_error(lost, 409, "CONTACT_MERGED")
        loser_id = y["id"] if won["id"] == x["id"] else x["id"]
        winner = await fetched(client, workspace, won["id"])
        assert (winner["status"], winner["mergedIntoId"]) == ("ACTIVE", None)
        patched = await client.patch(
            f"{API}/{loser_id}", json={"name": "Renamed"}, headers=workspace.headers
        )
        assert patched.json()["data"]["id"] == won["id"]
        gone = await listing(client, workspace, status="MERGED")
        assert (loser_id, won["id"]) in [(c["id"], c["mergedIntoId"]) for c in gone]


async def test_merging_back_into_a_contact_merged_away_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    """The second of two opposite merges, when the first has already committed: the contact
    the path names now resolves to the loser itself."""
    x = await new_contact(client, workspace, email="x@example.com")
    y = await new_contact(client, workspace, email="y@example.com")
    await merged(client, workspace, x["id"], y["id"])
    before = await snapshot(database)

    response = await merge(client, workspace.headers, y["id"], x["id"])

    error = assert_error(response, 409, "CONTACT_MERGED")
    assert y["id"] in error["message"]
    assert await snapshot(database) == before


async def test_merging_into_a_deleted_contact_is_refused(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    deleted = await client.delete(f"{API}/{winner['id']}", headers=workspace.headers)
    assert deleted.status_code == 200, deleted.text
    before = await snapshot(database)

    response = await merge(client, workspace.headers, winner["id"], loser["id"])

    assert_error(response, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before


async def test_a_deleted_loser_whose_email_was_reused_can_still_be_merged(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, name="No Email")
    loser = await new_contact(client, workspace, email="x@example.com", externalId="x-1")
    deleted = await client.delete(f"{API}/{loser['id']}", headers=workspace.headers)
    assert deleted.status_code == 200, deleted.text
    reuser = await new_contact(client, workspace, email="x@example.com", externalId="x-1")

    response = await merge(client, workspace.headers, winner["id"], loser["id"])

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["email"] is None
    assert data["externalId"] is None
    assert (await fetched(client, workspace, "x@example.com"))["id"] == reuser["id"]
    assert (await fetched(client, workspace, "x-1"))["id"] == reuser["id"]


@pytest.mark.parametrize("which", ["unknown", "other_workspace"])
async def test_a_loser_outside_the_workspace_is_a_validation_error_on_loser_id(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    which: str,
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    foreign = await new_contact(client, other_workspace, email="lose@example.com")
    loser_id = str(uuid.uuid4()) if which == "unknown" else foreign["id"]
    before = await snapshot(database)

    response = await merge(client, workspace.headers, winner["id"], loser_id)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"loserId"}
    assert await snapshot(database) == before
    assert (await fetched(client, other_workspace, foreign["id"]))["status"] == "ACTIVE"


async def test_an_unknown_winner_is_404(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    loser = await new_contact(client, workspace, email="lose@example.com")
    foreign = await new_contact(client, other_workspace, email="win@example.com")
    before = await snapshot(database)

    for ref in (str(uuid.uuid4()), "nobody@example.com", "no-such-ref", foreign["id"]):
        response = await merge(client, workspace.headers, ref, loser["id"])
        assert_error(response, 404, "NOT_FOUND")

    assert await snapshot(database) == before


@pytest.mark.parametrize(
    "body",
    [{"loserId": "not-a-uuid"}, {"loserId": 42}, {"loserId": None}, {}],
    ids=["string", "number", "null", "missing"],
)
async def test_a_malformed_loser_id_is_422(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, body: dict[str, Any]
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    before = await snapshot(database)

    response = await client.post(
        f"{API}/{winner['id']}/merge", json=body, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert "loserId" in detail_fields(error)
    assert await snapshot(database) == before


async def test_status_merged_cannot_be_set_by_patch_or_create(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    patched = await client.patch(
        f"{API}/{contact['id']}", json={"status": "MERGED"}, headers=workspace.headers
    )
    created = await client.post(
        API, json={"email": "new@example.com", "status": "MERGED"}, headers=workspace.headers
    )
    upserted = await upsert(client, workspace, email="ada@example.com", status="MERGED")
    created_deleted = await client.post(
        API, json={"email": "new@example.com", "status": "DELETED"}, headers=workspace.headers
    )

    for response in (patched, created, upserted, created_deleted):
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert detail_fields(error) == {"status"}
    assert await snapshot(database) == before


# --- merge chains -------------------------------------------------------------------------------


async def test_a_contact_merged_into_a_merged_contact_resolves_to_the_last_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    b = await new_contact(client, workspace, email="b@example.com")
    a = await new_contact(client, workspace, email="a@example.com")
    c = await new_contact(client, workspace, email="c@example.com", externalId="c-1")
    await note(client, workspace, c["id"], "From C")
    await merged(client, workspace, a["id"], c["id"])

    data = await merged(client, workspace, b["id"], a["id"])

    for ref in (c["id"], "c@example.com", "c-1", a["id"], "a@example.com"):
        assert (await fetched(client, workspace, ref))["id"] == b["id"], ref
    gone = {m["id"]: m["mergedIntoId"] for m in await listing(client, workspace, status="MERGED")}
    assert gone == {c["id"]: a["id"], a["id"]: b["id"]}
    notes = await listing(client, workspace, f"{API}/{c['id']}/notes")
    assert [n["contactId"] for n in notes] == [b["id"]]
    assert data["id"] == b["id"]


# --- resolve ------------------------------------------------------------------------------------


async def test_resolve_by_email_in_any_case(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com", name="Ada")
    await new_contact(client, workspace, email="bob@example.com", name="Bob")

    result = await resolve(client, workspace, email="  ADA@Example.COM ")

    assert result["match"] == ada
    assert scored(result) == [(ada["id"], 0.95, ["email"])]


async def test_resolve_by_external_id_is_certain(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, externalId="crm-1", name="Ada")

    result = await resolve(client, workspace, externalId="crm-1")

    assert result["match"] == ada
    assert scored(result) == [(ada["id"], 1.0, ["externalId"])]


async def test_resolve_by_phone_alone_gives_a_candidate_but_no_match(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, phone="+1 (415) 555-2671")

    result = await resolve(client, workspace, phone="+1 415 555 2671")

    assert result["match"] is None
    assert scored(result) == [(ada["id"], 0.7, ["phone"])]
    assert result["candidates"][0]["contact"] == ada


async def test_resolve_by_name_alone_ignores_case(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, name="Ada Lovelace")
    await new_contact(client, workspace, name="Ada Byron")

    result = await resolve(client, workspace, name="ada LOVELACE")

    assert result["match"] is None
    assert scored(result) == [(ada["id"], 0.4, ["name"])]


async def test_resolve_by_name_ignores_case_beyond_ascii(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    elodie = await new_contact(client, workspace, name="Élodie Durand")

    for name in ("Élodie Durand", "élodie durand"):
        result = await resolve(client, workspace, name=name)
        assert scored(result) == [(elodie["id"], 0.4, ["name"])], name


async def test_resolve_combines_email_and_phone_of_one_contact(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com", phone=PHONE)

    result = await resolve(client, workspace, email="ada@example.com", phone=PHONE)

    assert result["match"] == ada
    assert scored(result) == [(ada["id"], 0.985, ["email", "phone"])]


async def test_resolve_two_contacts_sharing_a_name_is_no_match(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    first = await new_contact(client, workspace, name="Sam Smith")
    second = await new_contact(client, workspace, name="sam smith", phone=PHONE)
    third = await new_contact(client, workspace, name="SAM SMITH")

    by_name = await resolve(client, workspace, name="Sam Smith")
    by_name_and_phone = await resolve(client, workspace, name="Sam Smith", phone=PHONE)

    assert by_name["match"] is None
    assert {cid for cid, _s, _r in scored(by_name)} == {first["id"], second["id"], third["id"]}
    assert {(s, tuple(r)) for _c, s, r in scored(by_name)} == {(0.4, ("name",))}
    assert by_name_and_phone["match"] is None
    assert scored(by_name_and_phone)[0] == (second["id"], 0.82, ["phone", "name"])
    assert [s for _c, s, _r in scored(by_name_and_phone)] == [0.82, 0.4, 0.4]


async def test_resolve_an_email_and_an_external_id_of_different_contacts(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    by_email = await new_contact(client, workspace, email="ada@example.com")
    by_external_id = await new_contact(client, workspace, externalId="crm-1")

    result = await resolve(client, workspace, email="ada@example.com", externalId="crm-1")

    assert result["match"] == by_external_id
    assert scored(result) == [
        (by_external_id["id"], 1.0, ["externalId"]),
        (by_email["id"], 0.95, ["email"]),
    ]


async def test_resolve_with_nothing_that_matches(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await new_contact(client, workspace, email="ada@example.com")

    result = await resolve(client, workspace, email="nobody@example.com", name="Nobody")

    assert result == {"match": None, "candidates": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "  ", "name": "", "phone": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"nickname": "Ada"}, "nickname"),
    ],
    ids=["nothing", "blank", "invalid-email", "invalid-phone", "unknown-field"],
)
async def test_resolve_refuses_invalid_queries(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    response = await client.post(f"{API}/resolve", json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_resolve_never_offers_deleted_or_merged_contacts(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    deleted = await new_contact(client, workspace, email="gone@example.com", name="Sam")
    winner = await new_contact(
        client, workspace, email="win@example.com", externalId="w-1", name="Win"
    )
    loser = await new_contact(
        client, workspace, email="lose@example.com", externalId="l-1", name="Sam", phone=PHONE
    )
    response = await client.delete(f"{API}/{deleted['id']}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    await merged(client, workspace, winner["id"], loser["id"])

    queries: list[dict[str, str]] = [
        {"email": "gone@example.com"},
        {"email": "lose@example.com"},
        {"externalId": "l-1"},
        {"name": "Sam"},
    ]
    for query in queries:
        result = await resolve(client, workspace, **query)
        assert result == {"match": None, "candidates": []}, query
    by_phone = await resolve(client, workspace, phone=PHONE)
    assert by_phone["match"] is None
    assert scored(by_phone) == [(winner["id"], 0.7, ["phone"])]


async def test_resolve_only_sees_the_callers_workspace(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await new_contact(
        client, other_workspace, email="ada@example.com", externalId="crm-1", name="Ada"
    )
    mine = await new_contact(client, workspace, name="Ada")

    result = await resolve(client, workspace, email="ada@example.com", externalId="crm-1")
    by_name = await resolve(client, workspace, name="Ada")

    assert result == {"match": None, "candidates": []}
    assert scored(by_name) == [(mine["id"], 0.4, ["name"])]


async def test_resolve_needs_only_read_scope(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ada = await new_contact(client, workspace, email="ada@example.com")
    reader = await add_key(database, workspace, ["crm:read"])

    response = await client.post(f"{API}/resolve", json={"email": ada["email"]}, headers=reader)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["match"]["id"] == ada["id"]


# --- upsert -------------------------------------------------------------------------------------


async def test_upsert_by_email_updates_only_the_fields_sent(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(
        client,
        workspace,
        email="ada@example.com",
        name="Ada Lovelace",
        phone=PHONE,
        lifecycleStage="LEAD",
        properties={"plan": "Free", "seats": 2},
    )

    response = await upsert(
        client,
        workspace,
        email="ADA@example.com",
        lifecycleStage="CUSTOMER",
        properties={"plan": "Pro", "source": "import"},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == ada["id"]
    assert response.headers["Location"] == f"/api/v1/contacts/{ada['id']}"
    assert data["lifecycleStage"] == "CUSTOMER"
    assert data["properties"] == {"plan": "Pro", "seats": 2, "source": "import"}
    for field in ("email", "name", "phone", "externalId", "givenName", "familyName", "status"):
        assert data[field] == ada[field], field
    again = await fetch(client, workspace, ada["id"])
    assert again.json()["data"] == as_read(data)
    assert response.headers["ETag"] == again.headers["ETag"]
    assert len(await listing(client, workspace)) == 1
    assert len(await events(client, workspace, "contact.created")) == 1
    updated = await events(client, workspace, "contact.updated")
    assert len(updated) == 1
    assert updated[0]["resourceId"] == ada["id"]
    assert set(updated[0]["data"]["changes"]) == {"lifecycleStage", "properties"}


async def test_upsert_matches_by_external_id(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await new_contact(client, workspace, externalId="crm-1", name="Ada")

    response = await upsert(client, workspace, externalId="crm-1", email="ada@example.com")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == ada["id"]
    assert data["email"] == "ada@example.com"
    assert data["name"] == "Ada"


async def test_upsert_prefers_the_external_id_match_over_the_email_match(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    by_external_id = await new_contact(client, workspace, externalId="crm-1", name="Ext")
    by_email = await new_contact(client, workspace, email="ada@example.com", name="Mail")

    renamed = await upsert(client, workspace, externalId="crm-1", name="Renamed")
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["id"] == by_external_id["id"]

    response = await upsert(
        client, workspace, externalId="crm-1", email="bob@example.com", givenName="Bob"
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == by_external_id["id"]
    assert data["email"] == "bob@example.com"
    assert data["givenName"] == "Bob"
    assert await fetched(client, workspace, by_email["id"]) == as_read(by_email)


async def test_upsert_with_an_external_id_and_another_contacts_email_is_a_conflict(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    """The externalId match is the one updated; it cannot take the email of another live
    contact, so the request is a 409 and neither contact changes."""
    await new_contact(client, workspace, externalId="crm-1", name="Ext")
    await new_contact(client, workspace, email="ada@example.com", name="Mail")
    before = await snapshot(database)

    response = await upsert(client, workspace, externalId="crm-1", email="ada@example.com")

    assert_error(response, 409, "CONTACT_EMAIL_EXISTS")
    assert await snapshot(database) == before


async def test_upsert_without_a_match_creates(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await new_contact(client, other_workspace, email="ada@example.com", externalId="crm-1")
    deleted = await new_contact(client, workspace, email="ada@example.com", externalId="crm-1")
    gone = await client.delete(f"{API}/{deleted['id']}", headers=workspace.headers)
    assert gone.status_code == 200, gone.text

    response = await upsert(
        client, workspace, email="ada@example.com", externalId="crm-1", name="Ada"
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["id"] != deleted["id"]
    assert data["email"] == "ada@example.com"
    assert data["externalId"] == "crm-1"
    assert data["name"] == "Ada"
    assert response.headers["Location"] == f"/api/v1/contacts/{data['id']}"
    assert [c["id"] for c in await listing(client, workspace)] == [data["id"]]
    created = await events(client, workspace, "contact.created")
    assert [e["resourceId"] for e in created] == [data["id"], deleted["id"]]
    assert await events(client, workspace, "contact.updated") == []


async def test_upsert_does_not_match_a_merged_contact(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await new_contact(client, workspace, email="win@example.com")
    loser = await new_contact(client, workspace, email="lose@example.com")
    await merged(client, workspace, winner["id"], loser["id"])

    response = await upsert(client, workspace, email="lose@example.com", name="Fresh")

    assert response.status_code == 201, response.text
    assert response.json()["data"]["id"] not in (winner["id"], loser["id"])


async def test_concurrent_upserts_of_one_email_create_it_once_then_update_it(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    answers = await asyncio.gather(
        *(upsert(client, workspace, email="race@example.com", name=f"N{i}") for i in range(20))
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 19 + [201], [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["data"]["id"] for a in answers}) == 1
    assert len(await listing(client, workspace, email="race@example.com")) == 1


async def test_an_upsert_waits_for_a_concurrent_one_and_updates_what_it_created(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    """The second upsert of an email starts while the first has created the contact but not
    committed: it waits, then finds the contact and updates it (it used to collide with the
    first one's row and answer 409)."""
    first_saved, release = asyncio.Event(), asyncio.Event()

    async def upsert_in_transaction(name: str, hold: bool) -> bool:
        async with database.transaction(workspace=workspace.id) as session:
            data = ContactUpsert(email="race@example.com", name=name, upsert=True)
            _contact, created = await ContactService(Context.bound(session, workspace.id)).save(
                data
            )
            if hold:
                first_saved.set()
                await release.wait()
        return created

    first = asyncio.create_task(upsert_in_transaction("First", hold=True))
    await first_saved.wait()
    second = asyncio.create_task(upsert_in_transaction("Second", hold=False))
    await asyncio.sleep(0.2)
    release.set()

    assert (await first, await second) == (True, False)
    rows = await listing(client, workspace, email="race@example.com")
    assert [r["name"] for r in rows] == ["Second"]


@pytest.mark.parametrize("flag", [False, None], ids=["false", "absent"])
async def test_a_duplicate_email_without_upsert_stays_a_conflict(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, flag: bool | None
) -> None:
    await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)
    body: dict[str, Any] = {"email": "ADA@example.com", "name": "Ada"}
    if flag is not None:
        body["upsert"] = flag

    response = await client.post(API, json=body, headers=workspace.headers)

    assert_error(response, 409, "CONTACT_EMAIL_EXISTS")
    assert await snapshot(database) == before
