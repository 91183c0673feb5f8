"""Tasks API: create with defaults and links to records and users of the workspace, status
changes that stamp and clear completedAt, filters, sorting and pagination, delete, events,
scopes and workspace isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from rapport.models import MembershipRole
from tests.helpers import Workspace, add_key, add_member, assert_error, events_of_type, snapshot

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1/tasks"
CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
EVENTS = "/api/v1/events"

RECORD_FIELDS = {
    "id",
    "title",
    "description",
    "status",
    "dueAt",
    "completedAt",
    "assigneeUserId",
    "projectId",
    "contactId",
    "companyId",
    "createdAt",
    "updatedAt",
}

JAN = "2024-01-10T09:00:00Z"
FEB = "2024-02-10T09:00:00Z"
MAR = "2024-03-10T09:00:00Z"
APR = "2024-04-10T09:00:00Z"

PROJECT = str(uuid.uuid4())
OTHER_PROJECT = str(uuid.uuid4())


# --- helpers ------------------------------------------------------------------------------------


def body_of(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Send the proposal")
    return body_of(await client.post(API, json=body, headers=ws.headers), 201)


async def fetch(client: httpx.AsyncClient, ws: Workspace, task_id: str) -> httpx.Response:
    return await client.get(f"{API}/{task_id}", headers=ws.headers)


async def patch(
    client: httpx.AsyncClient, ws: Workspace, task_id: str, body: Any
) -> httpx.Response:
    return await client.patch(f"{API}/{task_id}", json=body, headers=ws.headers)


async def delete(client: httpx.AsyncClient, ws: Workspace, task_id: str) -> httpx.Response:
    return await client.delete(f"{API}/{task_id}", headers=ws.headers)


async def listing(
    client: httpx.AsyncClient, ws: Workspace, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(API, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def titles(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    rows, _meta = await listing(client, ws, **params)
    return [row["title"] for row in rows]


async def add_user(
    database: Database, ws: Workspace, email: str, role: MembershipRole = MembershipRole.MEMBER
) -> str:
    return str(await add_member(database, ws, email, role))


async def create_contact(client: httpx.AsyncClient, ws: Workspace, email: str) -> dict[str, Any]:
    response = await client.post(CONTACTS, json={"email": email}, headers=ws.headers)
    return body_of(response, 201)


async def create_company(client: httpx.AsyncClient, ws: Workspace, name: str) -> dict[str, Any]:
    response = await client.post(COMPANIES, json={"name": name}, headers=ws.headers)
    return body_of(response, 201)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


# --- create -------------------------------------------------------------------------------------


async def test_create_returns_201_with_the_full_record(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    owner = await add_user(database, workspace, "ann@example.com")
    contact = await create_contact(client, workspace, "ada@example.com")
    company = await create_company(client, workspace, "Acme")
    body = {
        "title": "  Send the proposal ",
        "description": "Pricing for 50 seats",
        "status": "in_progress",
        "dueAt": "2024-03-01T12:30:00+02:00",
        "assigneeUserId": owner,
        "projectId": PROJECT,
        "contactId": contact["id"],
        "companyId": company["id"],
    }

    response = await client.post(API, json=body, headers=workspace.headers)

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == RECORD_FIELDS
    assert uuid.UUID(data["id"]).version == 7
    assert data["title"] == "Send the proposal"
    assert data["description"] == "Pricing for 50 seats"
    assert data["status"] == "in_progress"
    assert data["dueAt"] == "2024-03-01T10:30:00Z"
    assert data["completedAt"] is None
    assert data["assigneeUserId"] == owner
    assert data["projectId"] == PROJECT
    assert data["contactId"] == contact["id"]
    assert data["companyId"] == company["id"]
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")
    again = await fetch(client, workspace, data["id"])
    assert again.status_code == 200
    assert again.json() == {"data": data}


async def test_create_defaults(client: httpx.AsyncClient, workspace: Workspace) -> None:
    data = await create(client, workspace, title="Bare")

    assert data["status"] == "open"
    assert data["completedAt"] is None
    for field in (
        "description",
        "dueAt",
        "assigneeUserId",
        "projectId",
        "contactId",
        "companyId",
    ):
        assert data[field] is None, field


async def test_create_done_stamps_completed_at(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    start = datetime.now(UTC)

    done = await create(client, workspace, title="Already done", status="done")

    end = datetime.now(UTC)
    assert done["status"] == "done"
    assert start <= moment(done["completedAt"]) <= end
    for status in ("open", "in_progress", "cancelled"):
        assert (await create(client, workspace, status=status))["completedAt"] is None


async def test_create_emits_task_created_with_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, title="Call back", dueAt=MAR)

    [event] = await events_of_type(client, workspace, "task.created")

    assert event["resourceType"] == "task"
    assert event["resourceId"] == data["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": data}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": 42}, "title"),
        ({"status": "archived"}, "status"),
        ({"status": None}, "status"),
        ({"dueAt": "next week"}, "dueAt"),
        ({"dueAt": "2024-02-30T00:00:00Z"}, "dueAt"),
        ({"dueAt": "9999-12-31T23:00:00-05:00"}, "dueAt"),
        ({"description": "x" * 65_537}, "description"),
        ({"assigneeUserId": "not-a-uuid"}, "assigneeUserId"),
        ({"assigneeUserId": str(uuid.uuid4())}, "assigneeUserId"),
        ({"projectId": "project-1"}, "projectId"),
        ({"contactId": str(uuid.uuid4())}, "contactId"),
        ({"contactId": "ada@example.com"}, "contactId"),
        ({"companyId": str(uuid.uuid4())}, "companyId"),
        ({"completedAt": JAN}, "completedAt"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_create_is_422_naming_the_field(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    await create_contact(client, workspace, "ada@example.com")
    before = await snapshot(database)
    payload = {"title": "Valid", **body} if body and "title" not in body else body

    response = await client.post(API, json=payload, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


@pytest.mark.parametrize("role", list(MembershipRole))
async def test_assignee_may_be_any_user_of_the_workspace(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, role: MembershipRole
) -> None:
    user = await add_user(database, workspace, f"{role.value}@example.com", role)

    data = await create(client, workspace, assigneeUserId=user)

    assert data["assigneeUserId"] == user


async def test_assignee_outside_the_workspace_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    stranger = await add_user(database, other_workspace, "stranger@example.com")
    task = await create(client, workspace, title="Mine")
    before = await snapshot(database)

    created = await client.post(
        API, json={"title": "New", "assigneeUserId": stranger}, headers=workspace.headers
    )
    patched = await patch(client, workspace, task["id"], {"assigneeUserId": stranger})

    for response in (created, patched):
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert detail_fields(error) == {"assigneeUserId"}
    assert await snapshot(database) == before


@pytest.mark.parametrize("field", ["contactId", "companyId"])
async def test_a_record_of_another_workspace_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    field: str,
) -> None:
    if field == "contactId":
        theirs = await create_contact(client, other_workspace, "eve@example.com")
    else:
        theirs = await create_company(client, other_workspace, "Globex")
    task = await create(client, workspace, title="Mine")
    before = await snapshot(database)

    created = await client.post(
        API, json={"title": "New", field: theirs["id"]}, headers=workspace.headers
    )
    patched = await patch(client, workspace, task["id"], {field: theirs["id"]})

    for response in (created, patched):
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert detail_fields(error) == {field}
    assert await snapshot(database) == before


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    task = await create(client, workspace)
    before = await snapshot(database)

    responses = [
        await client.post(API, json={"title": "Anon"}),
        await client.get(API),
        await client.get(f"{API}/{task['id']}"),
        await client.patch(f"{API}/{task['id']}", json={"title": "Anon"}),
        await client.delete(f"{API}/{task['id']}"),
    ]

    for response in responses:
        assert_error(response, 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


# --- update -------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent_and_emits_task_updated(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ann = await add_user(database, workspace, "ann@example.com")
    contact = await create_contact(client, workspace, "ada@example.com")
    created = await create(
        client, workspace, title="Send the proposal", description="Draft", dueAt=FEB
    )

    response = await patch(
        client,
        workspace,
        created["id"],
        {
            "title": " Send the final proposal ",
            "dueAt": "2024-03-10T10:00:00+01:00",
            "assigneeUserId": ann,
            "contactId": contact["id"],
            "projectId": PROJECT,
        },
    )

    data = body_of(response)
    assert data["title"] == "Send the final proposal"
    assert data["dueAt"] == MAR
    assert data["assigneeUserId"] == ann
    assert data["contactId"] == contact["id"]
    assert data["projectId"] == PROJECT
    assert data["description"] == "Draft"
    assert data["status"] == "open"
    assert data["companyId"] is None
    assert data["createdAt"] == created["createdAt"]
    assert (await fetch(client, workspace, created["id"])).json() == {"data": data}
    [event] = await events_of_type(client, workspace, "task.updated")
    assert event["resourceType"] == "task"
    assert event["resourceId"] == created["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"]["record"] == data
    assert event["data"]["changes"] == {
        "title": {"before": "Send the proposal", "after": "Send the final proposal"},
        "dueAt": {"before": FEB, "after": MAR},
        "assigneeUserId": {"before": None, "after": ann},
        "contactId": {"before": None, "after": contact["id"]},
        "projectId": {"before": None, "after": PROJECT},
    }


async def test_status_done_stamps_completed_at_and_reopening_clears_it(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    task = await create(client, workspace, title="Call back")
    start = datetime.now(UTC)

    done = body_of(await patch(client, workspace, task["id"], {"status": "done"}))
    end = datetime.now(UTC)
    still_done = body_of(
        await patch(client, workspace, task["id"], {"status": "done", "description": "Called"})
    )
    reopened = body_of(await patch(client, workspace, task["id"], {"status": "open"}))

    assert done["status"] == "done"
    assert start <= moment(done["completedAt"]) <= end
    assert still_done["completedAt"] == done["completedAt"]
    assert reopened["status"] == "open"
    assert reopened["completedAt"] is None
    assert (await fetch(client, workspace, task["id"])).json() == {"data": reopened}
    reopening, _described, completion = await events_of_type(client, workspace, "task.updated")
    assert completion["data"]["changes"] == {
        "status": {"before": "open", "after": "done"},
        "completedAt": {"before": None, "after": done["completedAt"]},
    }
    assert reopening["data"]["changes"] == {
        "status": {"before": "done", "after": "open"},
        "completedAt": {"before": done["completedAt"], "after": None},
    }


@pytest.mark.parametrize("status", ["in_progress", "cancelled"])
async def test_leaving_done_for_another_status_clears_completed_at(
    client: httpx.AsyncClient, workspace: Workspace, status: str
) -> None:
    task = await create(client, workspace, title="Call back", status="done")
    assert task["completedAt"] is not None

    data = body_of(await patch(client, workspace, task["id"], {"status": status}))

    assert data["status"] == status
    assert data["completedAt"] is None


async def test_patch_null_clears_optional_fields(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ann = await add_user(database, workspace, "ann@example.com")
    contact = await create_contact(client, workspace, "ada@example.com")
    company = await create_company(client, workspace, "Acme")
    task = await create(
        client,
        workspace,
        description="Draft",
        dueAt=FEB,
        assigneeUserId=ann,
        projectId=PROJECT,
        contactId=contact["id"],
        companyId=company["id"],
    )
    cleared = [
        "description",
        "dueAt",
        "assigneeUserId",
        "projectId",
        "contactId",
        "companyId",
    ]

    data = body_of(await patch(client, workspace, task["id"], dict.fromkeys(cleared)))

    for field in cleared:
        assert data[field] is None, field
    assert data["title"] == task["title"]
    assert data["status"] == "open"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"status": None}, "status"),
        ({"status": "finished"}, "status"),
        ({"dueAt": "soon"}, "dueAt"),
        ({"assigneeUserId": str(uuid.uuid4())}, "assigneeUserId"),
        ({"contactId": str(uuid.uuid4())}, "contactId"),
        ({"companyId": str(uuid.uuid4())}, "companyId"),
        ({"completedAt": None}, "completedAt"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    task = await create(client, workspace, title="Call back", dueAt=FEB)
    before = await snapshot(database)

    response = await patch(client, workspace, task["id"], {"description": "Changed", **body})

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before
    assert (await fetch(client, workspace, task["id"])).json() == {"data": task}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "Call back"},
        {"title": "  Call back  "},
        {"status": "open"},
        {"dueAt": "2024-02-10T11:00:00+02:00"},
        {"projectId": PROJECT},
        {"description": None, "assigneeUserId": None, "contactId": None, "companyId": None},
    ],
)
async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, body: dict[str, Any]
) -> None:
    task = await create(client, workspace, title="Call back", dueAt=FEB, projectId=PROJECT)
    before = await snapshot(database)

    response = await patch(client, workspace, task["id"], body)

    assert body_of(response) == task
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "task.updated") == []


async def test_patch_unknown_or_malformed_task(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace)
    before = await snapshot(database)

    unknown = await patch(client, workspace, str(uuid.uuid4()), {"title": "Ghost"})
    malformed = await patch(client, workspace, "not-a-uuid", {"title": "Ghost"})

    assert_error(unknown, 404, "NOT_FOUND")
    assert_error(malformed, 400, "INVALID_ID")
    assert await snapshot(database) == before


# --- list ---------------------------------------------------------------------------------------


async def test_list_is_newest_first_with_meta(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    tasks = [await create(client, workspace, title=f"task {n}") for n in range(3)]
    await create(client, other_workspace, title="theirs")

    rows, meta = await listing(client, workspace)

    assert rows == list(reversed(tasks))
    assert meta == {
        "total": 3,
        "skip": 0,
        "take": 25,
        "page": 1,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


async def test_filters(client: httpx.AsyncClient, workspace: Workspace, database: Database) -> None:
    ann = await add_user(database, workspace, "ann@example.com")
    ben = await add_user(database, workspace, "ben@example.com")
    ada = await create_contact(client, workspace, "ada@example.com")
    bob = await create_contact(client, workspace, "bob@example.com")
    acme = await create_company(client, workspace, "Acme")
    globex = await create_company(client, workspace, "Globex")
    await create(
        client,
        workspace,
        title="a",
        status="open",
        dueAt=JAN,
        projectId=PROJECT,
        assigneeUserId=ann,
        contactId=ada["id"],
    )
    await create(
        client,
        workspace,
        title="b",
        status="in_progress",
        dueAt=FEB,
        projectId=PROJECT,
        assigneeUserId=ben,
        companyId=acme["id"],
    )
    await create(
        client,
        workspace,
        title="c",
        status="done",
        dueAt=MAR,
        projectId=OTHER_PROJECT,
        assigneeUserId=ann,
        contactId=bob["id"],
        companyId=acme["id"],
    )
    await create(client, workspace, title="d", status="cancelled", companyId=globex["id"])

    assert await titles(client, workspace, status="open") == ["a"]
    assert await titles(client, workspace, status=["open", "done"]) == ["c", "a"]
    assert await titles(client, workspace, status=["cancelled", "in_progress"]) == ["d", "b"]
    assert await titles(client, workspace, projectId=PROJECT) == ["b", "a"]
    assert await titles(client, workspace, projectId=OTHER_PROJECT) == ["c"]
    assert await titles(client, workspace, projectId=str(uuid.uuid4())) == []
    assert await titles(client, workspace, assigneeUserId=ann) == ["c", "a"]
    assert await titles(client, workspace, assigneeUserId=ben) == ["b"]
    assert await titles(client, workspace, contactId=ada["id"]) == ["a"]
    assert await titles(client, workspace, contactId=bob["id"]) == ["c"]
    assert await titles(client, workspace, companyId=acme["id"]) == ["c", "b"]
    assert await titles(client, workspace, companyId=globex["id"]) == ["d"]
    assert await titles(client, workspace, dueBefore=FEB) == ["b", "a"]
    assert await titles(client, workspace, dueAfter=FEB) == ["c", "b"]
    assert await titles(client, workspace, dueAfter="2024-02-10T10:00:00+01:00") == ["c", "b"]
    assert await titles(client, workspace, dueAfter=JAN, dueBefore=MAR) == ["c", "b", "a"]
    assert await titles(client, workspace, dueBefore="2024-01-01T00:00:00Z") == []
    assert await titles(client, workspace, status="open", assigneeUserId=ann) == ["a"]
    assert await titles(client, workspace, projectId=PROJECT, companyId=acme["id"]) == ["b"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "finished"}, "status.0"),
        ({"projectId": "p1"}, "projectId"),
        ({"assigneeUserId": "me"}, "assigneeUserId"),
        ({"contactId": "ada@example.com"}, "contactId"),
        ({"companyId": "acme"}, "companyId"),
        ({"dueBefore": "tomorrow"}, "dueBefore"),
        ({"dueAfter": "2024-13-01"}, "dueAfter"),
        ({"sortBy": "status"}, "sortBy"),
        ({"sort": "dueAt:up"}, "sort"),
        ({"take": 101}, "take"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
async def test_invalid_list_parameters_are_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, Any], field: str
) -> None:
    response = await client.get(API, params=params, headers=workspace.headers)

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert field in detail_fields(error)


async def test_sort_by_due_at_puts_undated_tasks_last(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace, title="feb", dueAt=FEB)
    await create(client, workspace, title="undated")
    await create(client, workspace, title="jan", dueAt=JAN)
    await create(client, workspace, title="mar", dueAt=MAR)

    ascending = await titles(client, workspace, sortBy="dueAt")
    by_sort = await titles(client, workspace, sort="dueAt:asc")
    descending = await titles(client, workspace, sortBy="dueAt", sortOrder="desc")

    assert ascending == ["jan", "feb", "mar", "undated"]
    assert by_sort == ascending
    assert descending == ["mar", "feb", "jan", "undated"]


async def test_sort_by_title(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for title in ("charlie", "alpha", "delta", "bravo"):
        await create(client, workspace, title=title)

    assert await titles(client, workspace, sort="title:asc") == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
    ]
    assert await titles(client, workspace, sortBy="title", sortOrder="desc") == [
        "delta",
        "charlie",
        "bravo",
        "alpha",
    ]


async def test_pagination_spellings_give_the_same_slice(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    tasks = [await create(client, workspace, title=f"task {n}") for n in range(7)]
    newest_first = [t["id"] for t in reversed(tasks)]

    by_skip = await listing(client, workspace, skip=2, take=2)
    by_limit = await listing(client, workspace, page=2, limit=2)
    by_page_size = await listing(client, workspace, page=2, pageSize=2)

    assert [r["id"] for r in by_skip[0]] == newest_first[2:4]
    assert by_limit == by_skip
    assert by_page_size == by_skip
    meta = by_skip[1]
    assert (meta["total"], meta["skip"], meta["take"]) == (7, 2, 2)
    assert (meta["page"], meta["totalPages"], meta["hasMore"]) == (2, 4, True)


async def walk(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    """Every id met by following meta.nextCursor until hasMore is false."""
    rows, meta = await listing(client, ws, **params)
    seen = [r["id"] for r in rows]
    while meta["hasMore"]:
        assert meta["nextCursor"]
        rows, meta = await listing(client, ws, **params, cursor=meta["nextCursor"])
        assert meta["total"] is None
        seen += [r["id"] for r in rows]
        assert len(seen) < 50
    assert meta["nextCursor"] is None
    return seen


async def test_cursor_walk_by_due_at_visits_every_task_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    dues = [FEB, None, JAN, FEB, None, MAR, APR, None, JAN]
    tasks = [
        await create(client, workspace, title=f"t{n}", dueAt=due) for n, due in enumerate(dues)
    ]
    dated = [t for t in tasks if t["dueAt"] is not None]
    undated = [t for t in tasks if t["dueAt"] is None]

    newest_first = await walk(client, workspace, take=2)
    by_due = await walk(client, workspace, take=2, sort="dueAt:asc")
    by_due_desc = await walk(client, workspace, take=3, sortBy="dueAt", sortOrder="desc")

    assert newest_first == [t["id"] for t in reversed(tasks)]
    assert by_due == [t["id"] for t in sorted(dated, key=lambda t: (t["dueAt"], t["id"]))] + [
        t["id"] for t in sorted(undated, key=lambda t: t["id"])
    ]
    assert by_due_desc == [
        t["id"] for t in sorted(dated, key=lambda t: (t["dueAt"], t["id"]), reverse=True)
    ] + [t["id"] for t in sorted(undated, key=lambda t: t["id"], reverse=True)]


# --- read one and delete ------------------------------------------------------------------------


async def test_get_unknown_or_malformed_task(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace)

    assert_error(await fetch(client, workspace, str(uuid.uuid4())), 404, "NOT_FOUND")
    assert_error(await fetch(client, workspace, "not-a-uuid"), 400, "INVALID_ID")


async def test_delete_is_204_then_the_task_is_gone(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    doomed = await create(client, workspace, title="Doomed", dueAt=FEB)
    kept = await create(client, workspace, title="Kept")

    response = await delete(client, workspace, doomed["id"])

    assert response.status_code == 204
    assert response.content == b""
    assert_error(await fetch(client, workspace, doomed["id"]), 404, "NOT_FOUND")
    assert await titles(client, workspace) == [kept["title"]]
    [event] = await events_of_type(client, workspace, "task.deleted")
    assert event["resourceType"] == "task"
    assert event["resourceId"] == doomed["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": doomed}

    before = await snapshot(database)
    assert_error(await delete(client, workspace, doomed["id"]), 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_delete_unknown_task_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace)
    before = await snapshot(database)

    assert_error(await delete(client, workspace, str(uuid.uuid4())), 404, "NOT_FOUND")

    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "task.deleted") == []


async def test_a_deleted_company_leaves_its_tasks_with_company_id_null(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    company = await create_company(client, workspace, "Acme")
    task = await create(client, workspace, title="Renew", companyId=company["id"])

    deleted = await client.delete(f"{COMPANIES}/{company['id']}", headers=workspace.headers)

    assert deleted.status_code == 204, deleted.text
    data = body_of(await fetch(client, workspace, task["id"]))
    assert data["companyId"] is None
    assert {k: v for k, v in data.items() if k != "companyId"} == {
        k: v for k, v in task.items() if k != "companyId"
    }
    assert await titles(client, workspace, companyId=company["id"]) == []


# --- scopes and isolation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "own_id", "body"),
    [
        ("POST", False, {"title": "New"}),
        ("PATCH", True, {"status": "done"}),
        ("DELETE", True, None),
    ],
)
async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    method: str,
    own_id: bool,
    body: dict[str, Any] | None,
) -> None:
    task = await create(client, workspace, title="Call back")
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    path = f"{API}/{task['id']}" if own_id else API
    response = await client.request(method, path, json=body, headers=reader)

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before
    one = await client.get(f"{API}/{task['id']}", headers=reader)
    assert one.status_code == 200
    assert one.json() == {"data": task}
    listed = await client.get(API, headers=reader)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["data"]] == [task["id"]]


async def test_another_workspaces_task_is_404_everywhere(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    theirs = await create(client, other_workspace, title="Globex task", projectId=PROJECT)
    before = await snapshot(database)

    assert_error(await fetch(client, workspace, theirs["id"]), 404, "NOT_FOUND")
    patched = await patch(client, workspace, theirs["id"], {"status": "done"})
    assert_error(patched, 404, "NOT_FOUND")
    assert_error(await delete(client, workspace, theirs["id"]), 404, "NOT_FOUND")

    assert await snapshot(database) == before
    assert await titles(client, workspace) == []
    assert await titles(client, workspace, projectId=PROJECT) == []
    assert await events_of_type(client, workspace, "task.*") == []
    assert (await fetch(client, other_workspace, theirs["id"])).json() == {"data": theirs}
