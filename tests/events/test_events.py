"""Domain events: written with each change of a contact, in the same transaction, and listed
as the audit log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rapport.contacts.schemas import ContactCreate
from rapport.contacts.service import ContactService
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models import Contact, Event
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, assert_error, snapshot

CONTACTS = "/api/v1/contacts"
EVENTS = "/api/v1/events"


async def events(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(EVENTS, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(CONTACTS, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def count_events(database: Database) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


async def test_create_emits_contact_created_with_the_record_and_actor(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await create(client, workspace, email="ada@example.com", name="Ada")
    [event] = await events(client, workspace)
    assert event["type"] == "contact.created"
    assert event["resourceType"] == "contact"
    assert event["resourceId"] == contact["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": contact}
    assert event["occurredAt"].endswith("Z")


async def test_update_carries_only_the_changed_fields_before_and_after(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await create(
        client, workspace, email="ada@example.com", name="Ada", properties={"plan": "Starter"}
    )
    response = await client.patch(
        f"{CONTACTS}/{contact['id']}",
        json={"name": "Ada Lovelace", "properties": {"plan": "Growth"}},
        headers=workspace.headers,
    )
    assert response.status_code == 200
    latest = (await events(client, workspace))[0]
    assert latest["type"] == "contact.updated"
    assert latest["data"]["changes"] == {
        "name": {"before": "Ada", "after": "Ada Lovelace"},
        "properties": {"before": {"plan": "Starter"}, "after": {"plan": "Growth"}},
    }
    assert latest["data"]["record"] == response.json()["data"]


async def test_a_patch_that_changes_nothing_emits_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await create(client, workspace, email="ada@example.com", name="Ada")
    before = await count_events(database)
    response = await client.patch(
        f"{CONTACTS}/{contact['id']}", json={"name": "Ada"}, headers=workspace.headers
    )
    assert response.status_code == 200
    assert await count_events(database) == before


async def test_delete_emits_contact_deleted_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await create(client, workspace, email="ada@example.com")
    for _ in range(2):
        response = await client.delete(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)
        assert response.status_code == 200
    deleted = await events(client, workspace, type="contact.deleted")
    assert len(deleted) == 1
    assert deleted[0]["data"]["record"]["status"] == "DELETED"


async def test_deleting_by_patch_emits_contact_deleted_with_the_changes(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await create(client, workspace, email="ada@example.com")

    response = await client.patch(
        f"{CONTACTS}/{contact['id']}",
        json={"status": "DELETED", "name": "Ada L."},
        headers=workspace.headers,
    )

    assert response.status_code == 200, response.text
    deleted = await events(client, workspace, type="contact.deleted")
    assert [e["data"]["record"]["status"] for e in deleted] == ["DELETED"]
    assert set(deleted[0]["data"]["changes"]) == {"status", "name"}
    assert await events(client, workspace, type="contact.updated") == []


async def test_refused_writes_leave_no_event(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await create(client, workspace, email="ada@example.com")
    before = await snapshot(database)
    refused = [
        await client.post(CONTACTS, json={"email": "ADA@example.com"}, headers=workspace.headers),
        await client.patch(
            f"{CONTACTS}/{contact['id']}",
            json={"name": "x"},
            headers={**workspace.headers, "If-Match": '"stale.1"'},
        ),
        await client.patch(
            f"{CONTACTS}/{contact['id']}", json={"phone": "nope"}, headers=workspace.headers
        ),
    ]
    assert [r.status_code for r in refused] == [409, 412, 422]
    assert await snapshot(database) == before


async def test_rolled_back_transaction_leaves_neither_change_nor_event(
    database: Database, workspace: Workspace
) -> None:
    async def fail_after_create() -> None:
        async with database.transaction(platform=EVERY_WORKSPACE) as session:
            await ContactService(Context.bound(session, workspace.id)).create(
                ContactCreate(email="ghost@example.com")
            )
            raise RuntimeError("the request failed after the write")

    before = await count_events(database)
    with pytest.raises(RuntimeError):
        await fail_after_create()
    async with database.session(platform=EVERY_WORKSPACE) as session:
        ghosts = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.email == "ghost@example.com")
        )
    assert ghosts == 0
    assert await count_events(database) == before


async def test_committed_change_always_has_its_event(
    database: Database, workspace: Workspace
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        contact = await ContactService(Context.bound(session, workspace.id)).create(
            ContactCreate(email="cli@example.com")
        )
    async with database.session(platform=EVERY_WORKSPACE) as session:
        stored = (
            (await session.execute(select(Event).where(Event.resource_id == contact.id)))
            .scalars()
            .all()
        )
    assert [(e.type, e.actor_type, e.actor_id) for e in stored] == [
        ("contact.created", "system", None)
    ]


async def test_filters_by_type_family_resource_and_actor(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    other_key = await add_key(database, workspace, ["crm:read", "crm:write"])
    first = await create(client, workspace, email="a@example.com")
    response = await client.post(CONTACTS, json={"email": "b@example.com"}, headers=other_key)
    second = response.json()["data"]
    await client.patch(f"{CONTACTS}/{first['id']}", json={"name": "A"}, headers=workspace.headers)

    assert len(await events(client, workspace, type="contact.*")) == 3
    assert len(await events(client, workspace, type="contact.created")) == 2
    by_resource = await events(client, workspace, resourceId=first["id"], sortOrder="asc")
    assert [e["type"] for e in by_resource] == ["contact.created", "contact.updated"]
    by_actor = await events(client, workspace, actorId=str(workspace.key_id))
    assert {e["resourceId"] for e in by_actor} == {first["id"]}
    assert [e["resourceId"] for e in await events(client, workspace, resourceType="contact")][
        -1
    ] == first["id"]
    assert second["id"] in {e["resourceId"] for e in await events(client, workspace)}
    assert await events(client, workspace, type="company.*") == []


async def test_newest_first_and_a_cursor_walk_visits_every_event_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for i in range(7):
        await create(client, workspace, email=f"p{i}@example.com")
    newest = await events(client, workspace)
    sequences = [e["sequence"] for e in newest]
    assert sequences == sorted(sequences, reverse=True)

    seen: list[int] = []
    params: dict[str, Any] = {"take": 3, "sortOrder": "asc"}
    while True:
        response = await client.get(EVENTS, params=params, headers=workspace.headers)
        body = response.json()
        seen += [e["sequence"] for e in body["data"]]
        if not body["meta"]["hasMore"]:
            break
        params = {"take": 3, "cursor": body["meta"]["nextCursor"]}
    assert seen == sorted(sequences)


async def test_since_and_until_bound_occurred_at(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace, email="a@example.com")
    [event] = await events(client, workspace)
    at = event["occurredAt"]
    assert len(await events(client, workspace, since=at)) == 1
    assert len(await events(client, workspace, until=at)) == 1
    assert await events(client, workspace, since="2999-01-01T00:00:00Z") == []


async def test_one_event_by_id_and_unknown_ids(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace, email="a@example.com")
    [event] = await events(client, workspace)
    response = await client.get(f"{EVENTS}/{event['id']}", headers=workspace.headers)
    assert response.status_code == 200
    assert response.json()["data"] == event
    unknown = await client.get(
        f"{EVENTS}/01a20000-0000-7000-8000-000000000000", headers=workspace.headers
    )
    assert_error(unknown, 404, "NOT_FOUND")
    assert_error(await client.get(f"{EVENTS}/nope", headers=workspace.headers), 400, "INVALID_ID")


async def test_other_workspaces_events_are_invisible(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await create(client, workspace, email="a@example.com")
    assert await events(client, other_workspace) == []


async def test_reading_events_needs_crm_read(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    writer_only = await add_key(database, workspace, ["crm:write"])
    error = assert_error(await client.get(EVENTS, headers=writer_only), 403, "FORBIDDEN")
    assert "crm:read" in error["message"]


async def test_bad_filters_are_400(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for params in ({"since": "yesterday"}, {"resourceId": "x"}, {"sortBy": "type"}):
        response = await client.get(EVENTS, params=params, headers=workspace.headers)
        assert_error(response, 400, "INVALID_REQUEST")


async def test_user_changes_are_attributed_to_the_user(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        user = await WorkspaceService(session).add_user(
            workspace.id, "ada@example.com", "correct horse battery"
        )
    login = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    token = login.json()["data"]["token"]
    response = await client.post(
        CONTACTS, json={"email": "x@example.com"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    [event] = await events(client, workspace)
    assert event["actor"] == {"type": "user", "id": str(user.id)}
