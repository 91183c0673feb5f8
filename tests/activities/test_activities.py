"""Activities and notes API: logging activities of a contact (by id, email or externalId, and
at the legacy path), of a company, the contact's lastActivityAt, listing with filters and
pagination, edits and deletes with their events, notes as NOTE activities, scopes and
workspace isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, events_of_type, snapshot

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"
ACTIVITIES = f"{API}/activities"
CONTACTS = f"{API}/contacts"
COMPANIES = f"{API}/companies"
EVENTS = f"{API}/events"

ACTIVITY_FIELDS = {
    "id",
    "type",
    "module",
    "subject",
    "content",
    "properties",
    "occurredAt",
    "contactId",
    "companyId",
    "leadId",
    "actor",
    "createdAt",
    "updatedAt",
}
NOTE_FIELDS = {"id", "contactId", "subject", "content", "author", "createdAt", "updatedAt"}
TYPES = ["NOTE", "CALL", "MEETING", "EMAIL", "TASK", "PAGE_VIEW", "CUSTOM_EVENT"]

JAN = "2024-01-10T09:00:00Z"
FEB = "2024-02-10T09:00:00Z"
MAR = "2024-03-10T09:00:00Z"
APR = "2024-04-10T09:00:00Z"


# --- helpers ------------------------------------------------------------------------------------


def body_of(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def create_contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    return body_of(await client.post(CONTACTS, json=body, headers=ws.headers), 201)


async def create_company(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Acme Corp")
    return body_of(await client.post(COMPANIES, json=body, headers=ws.headers), 201)


async def log(client: httpx.AsyncClient, ws: Workspace, ref: str, **body: Any) -> dict[str, Any]:
    """An activity of the contact `ref`, through POST /contacts/{ref}/activities (a NOTE
    gets some content: notes need it)."""
    body.setdefault("type", "CALL")
    if body["type"].upper() == "NOTE":
        body.setdefault("content", "A note")
    response = await client.post(f"{CONTACTS}/{ref}/activities", json=body, headers=ws.headers)
    return body_of(response, 201)


async def log_any(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    """An activity through POST /activities (contactId and/or companyId)."""
    body.setdefault("type", "CALL")
    if body["type"].upper() == "NOTE":
        body.setdefault("content", "A note")
    return body_of(await client.post(ACTIVITIES, json=body, headers=ws.headers), 201)


async def add_note(
    client: httpx.AsyncClient, ws: Workspace, ref: str, **body: Any
) -> dict[str, Any]:
    body.setdefault("content", "Prefers email over calls")
    response = await client.post(f"{CONTACTS}/{ref}/notes", json=body, headers=ws.headers)
    return body_of(response, 201)


async def listing(
    client: httpx.AsyncClient, ws: Workspace, path: str, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(path, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def ids(client: httpx.AsyncClient, ws: Workspace, path: str, **params: Any) -> list[str]:
    rows, _meta = await listing(client, ws, path, **params)
    return [row["id"] for row in rows]


async def contact_state(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> tuple[dict[str, Any], str]:
    """The contact and its ETag."""
    response = await client.get(f"{CONTACTS}/{ref}", headers=ws.headers)
    return body_of(response), response.headers["ETag"]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


@pytest.fixture
async def contact(client: httpx.AsyncClient, workspace: Workspace) -> dict[str, Any]:
    return await create_contact(
        client, workspace, email="ada@example.com", name="Ada", externalId="crm-1"
    )


@pytest.fixture
async def other_contact(client: httpx.AsyncClient, workspace: Workspace) -> dict[str, Any]:
    return await create_contact(client, workspace, email="bob@example.com", name="Bob")


@pytest.fixture
async def company(client: httpx.AsyncClient, workspace: Workspace) -> dict[str, Any]:
    return await create_company(client, workspace, name="Acme", domain="acme.com")


# --- log an activity of a contact ---------------------------------------------------------------


async def test_log_returns_201_with_the_full_record(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    body = {
        "type": "CALL",
        "subject": "Pricing call",
        "content": "Discussed pricing and timeline",
        "properties": {"duration": "30m", "outcome": "interested"},
    }
    start = datetime.now(UTC)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/activities", json=body, headers=workspace.headers
    )

    end = datetime.now(UTC)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == ACTIVITY_FIELDS
    assert uuid.UUID(data["id"]).version == 7
    assert data["type"] == "CALL"
    assert data["module"] == "CRM"
    assert data["subject"] == "Pricing call"
    assert data["content"] == "Discussed pricing and timeline"
    assert data["properties"] == {"duration": "30m", "outcome": "interested"}
    assert data["contactId"] == contact["id"]
    assert data["companyId"] is None
    assert data["leadId"] is None
    assert data["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert data["occurredAt"].endswith("Z")
    assert start <= moment(data["occurredAt"]) <= end
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")

    again = await client.get(f"{ACTIVITIES}/{data['id']}", headers=workspace.headers)
    assert again.status_code == 200, again.text
    assert again.json() == {"data": data}


async def test_log_defaults(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(client, workspace, contact["id"], type="MEETING")

    assert data["module"] == "CRM"
    assert data["subject"] is None
    assert data["content"] is None
    assert data["properties"] == {}
    assert data["companyId"] is None


@pytest.mark.parametrize("kind", ["id", "email", "externalId"])
async def test_the_contact_may_be_named_by_id_email_or_external_id(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any], kind: str
) -> None:
    ref = {"id": contact["id"], "email": "ADA@Example.com", "externalId": "crm-1"}[kind]

    data = await log(client, workspace, ref, subject=f"by {kind}")

    assert data["contactId"] == contact["id"]
    assert await ids(client, workspace, f"{CONTACTS}/{contact['id']}/activities") == [data["id"]]


@pytest.mark.parametrize(
    ("given", "stored"),
    [("call", "CALL"), ("Call", "CALL"), ("CALL", "CALL"), ("page_view", "PAGE_VIEW")],
)
async def test_the_type_is_accepted_in_any_case(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    given: str,
    stored: str,
) -> None:
    data = await log(client, workspace, contact["id"], type=given)

    assert data["type"] == stored


async def test_the_module_is_accepted_in_any_case(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    support = await log(client, workspace, contact["id"], module="support")
    integration = await log(client, workspace, contact["id"], module="INTEGRATION")

    assert support["module"] == "SUPPORT"
    assert integration["module"] == "INTEGRATION"


@pytest.mark.parametrize("activity_type", TYPES)
async def test_every_type_may_be_logged(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any], activity_type: str
) -> None:
    data = await log(client, workspace, contact["id"], type=activity_type, subject="x", content="x")

    assert data["type"] == activity_type
    one = await client.get(f"{ACTIVITIES}/{data['id']}", headers=workspace.headers)
    assert body_of(one)["type"] == activity_type


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-03-01T12:30:00+02:00", "2024-03-01T10:30:00Z"),
        ("2024-03-01T05:30:00-05:00", "2024-03-01T10:30:00Z"),
        ("2024-03-01T10:30:00Z", "2024-03-01T10:30:00Z"),
        ("2024-03-01T10:30:00", "2024-03-01T10:30:00Z"),
        ("2024-03-01T10:30:00.250000+00:00", "2024-03-01T10:30:00.250000Z"),
    ],
)
async def test_an_explicit_occurred_at_is_stored_in_utc(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    given: str,
    stored: str,
) -> None:
    data = await log(client, workspace, contact["id"], occurredAt=given)

    assert data["occurredAt"] == stored
    one = await client.get(f"{ACTIVITIES}/{data['id']}", headers=workspace.headers)
    assert body_of(one)["occurredAt"] == stored


async def test_log_may_name_a_company_of_the_workspace(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    data = await log(client, workspace, contact["id"], companyId=company["id"])

    assert data["contactId"] == contact["id"]
    assert data["companyId"] == company["id"]


async def test_blank_subject_is_stored_as_null_and_trimmed_otherwise(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    blank = await log(client, workspace, contact["id"], subject="   ")
    padded = await log(client, workspace, contact["id"], subject="  Pricing call  ")

    assert blank["subject"] is None
    assert padded["subject"] == "Pricing call"


async def test_log_emits_activity_created_with_the_record(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(client, workspace, contact["id"], subject="Pricing call")

    [event] = await events_of_type(client, workspace, "activity.created")

    assert event["resourceType"] == "activity"
    assert event["resourceId"] == data["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": data}


async def test_last_activity_at_is_the_newest_occurred_at_and_the_etag_stays(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    before, etag = await contact_state(client, workspace, contact["id"])
    assert contact["lastActivityAt"] is None
    assert before["activityCount"] == 0

    await log(client, workspace, contact["id"], occurredAt=FEB)
    after_feb, etag_feb = await contact_state(client, workspace, contact["id"])
    await log(client, workspace, contact["id"], occurredAt=JAN)
    after_jan, etag_jan = await contact_state(client, workspace, contact["id"])
    await log(client, workspace, contact["id"], occurredAt=MAR)
    after_mar, etag_mar = await contact_state(client, workspace, contact["id"])

    assert after_feb["lastActivityAt"] == FEB
    assert after_jan["lastActivityAt"] == FEB  # an older activity logged later
    assert after_mar["lastActivityAt"] == MAR
    assert etag_feb == etag_jan == etag_mar == etag
    for count, state in enumerate((after_feb, after_jan, after_mar), start=1):
        assert state["updatedAt"] == contact["updatedAt"]
        assert state["activityCount"] == count
        assert {k: v for k, v in state.items() if k not in ("lastActivityAt", "activityCount")} == {
            **{k: v for k, v in contact.items() if k != "lastActivityAt"},
            "companies": [],
            "tags": [],
        }
    assert await events_of_type(client, workspace, "contact.updated") == []


async def test_a_default_occurred_at_sets_last_activity_at(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(client, workspace, contact["id"])

    state, _etag = await contact_state(client, workspace, contact["id"])

    assert state["lastActivityAt"] == data["occurredAt"]


async def test_a_note_moves_last_activity_at_too(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    _before, etag = await contact_state(client, workspace, contact["id"])

    note = await add_note(client, workspace, contact["id"])

    state, etag_after = await contact_state(client, workspace, contact["id"])
    one = body_of(await client.get(f"{ACTIVITIES}/{note['id']}", headers=workspace.headers))
    assert state["lastActivityAt"] == one["occurredAt"]
    assert etag_after == etag


async def test_moving_an_activity_later_moves_last_activity_at_forward_only(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(client, workspace, contact["id"], occurredAt=FEB)
    _state, etag = await contact_state(client, workspace, contact["id"])

    later = await client.patch(
        f"{ACTIVITIES}/{data['id']}", json={"occurredAt": APR}, headers=workspace.headers
    )
    after_later, etag_later = await contact_state(client, workspace, contact["id"])
    earlier = await client.patch(
        f"{ACTIVITIES}/{data['id']}", json={"occurredAt": JAN}, headers=workspace.headers
    )
    after_earlier, _etag = await contact_state(client, workspace, contact["id"])

    assert body_of(later)["occurredAt"] == APR
    assert body_of(earlier)["occurredAt"] == JAN
    assert after_later["lastActivityAt"] == APR
    assert etag_later == etag
    assert after_earlier["lastActivityAt"] == APR  # never moved back


async def test_an_activity_of_a_company_only_leaves_contacts_alone(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    await log_any(client, workspace, companyId=company["id"], occurredAt=MAR)

    state, _etag = await contact_state(client, workspace, contact["id"])

    assert state["lastActivityAt"] is None


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "nobody@example.com", "no-such-contact"])
async def test_log_for_an_unknown_contact_is_404(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    ref: str,
) -> None:
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{ref}/activities", json={"type": "CALL"}, headers=workspace.headers
    )

    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": None}, "type"),
        ({"type": "FAX"}, "type"),
        ({"type": ""}, "type"),
        ({"type": 3}, "type"),
        ({"type": "CALL", "module": "MARKETING"}, "module"),
        ({"type": "CALL", "subject": "x" * 301}, "subject"),
        ({"type": "CALL", "content": "x" * 65_537}, "content"),
        ({"type": "CALL", "content": "nul \x00 inside"}, None),
        ({"type": "CALL", "properties": ["a"]}, "properties"),
        ({"type": "CALL", "colour": "red"}, "colour"),
        ({"type": "CALL", "occurredAt": "yesterday"}, "occurredAt"),
        ({"type": "CALL", "occurredAt": "2024-13-01T00:00:00Z"}, "occurredAt"),
        ({"type": "CALL", "occurredAt": "2024-02-30T10:00:00Z"}, "occurredAt"),
        ({"type": "CALL", "occurredAt": "9999-12-31T23:00:00-05:00"}, "occurredAt"),
        ({"type": "CALL", "companyId": "not-a-uuid"}, "companyId"),
        ({"type": "CALL", "companyId": str(uuid.uuid4())}, "companyId"),
    ],
)
async def test_invalid_activity_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    body: dict[str, Any],
    field: str | None,
) -> None:
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/activities", json=body, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    if field is not None:
        assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_unknown_field_is_named_in_the_error(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/activities",
        json={"type": "CALL", "colour": "red"},
        headers=workspace.headers,
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert {"field": "colour", "message": "Unknown field"} in error["details"]
    assert await snapshot(database) == before


async def test_a_company_of_another_workspace_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
) -> None:
    theirs = await create_company(client, other_workspace, name="Globex")
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/activities",
        json={"type": "CALL", "companyId": theirs["id"]},
        headers=workspace.headers,
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"companyId"}
    assert await snapshot(database) == before


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/activities",
        content=b'{"type": "CALL",',
        headers={**workspace.headers, "Content-Type": "application/json"},
    )

    assert_error(response, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before


# --- legacy spelling ----------------------------------------------------------------------------


async def test_the_legacy_post_logs_the_same_activity(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    body = {
        "type": "meeting",
        "subject": "Kick-off",
        "content": "Agenda",
        "properties": {"room": "A"},
        "occurredAt": "2024-03-01T12:30:00+02:00",
        "companyId": company["id"],
        "module": "support",
    }

    legacy = await client.post(f"{ACTIVITIES}/contacts/crm-1", json=body, headers=workspace.headers)
    current = await client.post(
        f"{CONTACTS}/crm-1/activities", json=body, headers=workspace.headers
    )

    old, new = body_of(legacy, 201), body_of(current, 201)
    volatile = {"id", "createdAt", "updatedAt"}
    assert {k: v for k, v in old.items() if k not in volatile} == {
        k: v for k, v in new.items() if k not in volatile
    }
    assert old["type"] == "MEETING"
    assert old["module"] == "SUPPORT"
    assert old["occurredAt"] == "2024-03-01T10:30:00Z"
    assert old["contactId"] == contact["id"]
    [_second, first] = await events_of_type(client, workspace, "activity.created")
    assert first["data"] == {"record": old}
    state, _etag = await contact_state(client, workspace, contact["id"])
    assert state["lastActivityAt"] == "2024-03-01T10:30:00Z"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"type": "NOTE"},
        {"type": ["CALL", "EMAIL"]},
        {"from": FEB, "to": MAR},
        {"take": 2},
        {"page": 2, "limit": 2},
        {"sort": "occurredAt:asc"},
    ],
)
async def test_the_legacy_get_lists_the_same_activities(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    other_contact: dict[str, Any],
    params: dict[str, Any],
) -> None:
    for n, (kind, when) in enumerate(
        [("CALL", JAN), ("NOTE", FEB), ("EMAIL", MAR), ("CALL", APR), ("MEETING", FEB)]
    ):
        await log(client, workspace, contact["id"], type=kind, occurredAt=when, subject=f"{n}")
    await log(client, workspace, other_contact["id"], occurredAt=MAR)

    for ref in (contact["id"], "ada@example.com", "crm-1"):
        current = await listing(client, workspace, f"{CONTACTS}/{ref}/activities", **params)
        legacy = await listing(client, workspace, f"{ACTIVITIES}/contacts/{ref}", **params)
        assert legacy == current
        assert current[0]


async def test_the_legacy_paths_404_for_an_unknown_contact(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    before = await snapshot(database)

    got = await client.get(f"{ACTIVITIES}/contacts/nobody", headers=workspace.headers)
    posted = await client.post(
        f"{ACTIVITIES}/contacts/nobody", json={"type": "CALL"}, headers=workspace.headers
    )

    assert_error(got, 404, "NOT_FOUND")
    assert_error(posted, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_the_legacy_paths_are_deprecated_in_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    legacy = paths[f"{ACTIVITIES}/contacts/{{ref}}"]
    current = paths[f"{CONTACTS}/{{ref}}/activities"]
    assert legacy["get"]["deprecated"] is True
    assert legacy["post"]["deprecated"] is True
    assert not current["get"].get("deprecated", False)
    assert not current["post"].get("deprecated", False)


# --- list a contact's activities ----------------------------------------------------------------


async def test_list_is_newest_first_with_meta(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    other_contact: dict[str, Any],
) -> None:
    feb = await log(client, workspace, contact["id"], occurredAt=FEB)
    jan = await log(client, workspace, contact["id"], occurredAt=JAN)
    mar = await log(client, workspace, contact["id"], occurredAt=MAR)
    await log(client, workspace, other_contact["id"], occurredAt=APR)

    rows, meta = await listing(client, workspace, f"{CONTACTS}/{contact['id']}/activities")

    assert rows == [mar, feb, jan]
    assert meta == {
        "total": 3,
        "skip": 0,
        "take": 25,
        "page": 1,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


async def test_list_sorts_oldest_first_when_asked(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    feb = await log(client, workspace, contact["id"], occurredAt=FEB)
    jan = await log(client, workspace, contact["id"], occurredAt=JAN)
    mar = await log(client, workspace, contact["id"], occurredAt=MAR)
    path = f"{CONTACTS}/{contact['id']}/activities"

    by_sort_by = await ids(client, workspace, path, sortBy="occurredAt")
    by_sort = await ids(client, workspace, path, sort="occurredAt:asc")
    by_order = await ids(client, workspace, path, sortOrder="asc")
    by_created = await ids(client, workspace, path, sort="createdAt:desc")

    oldest_first = [jan["id"], feb["id"], mar["id"]]
    assert by_sort_by == oldest_first
    assert by_sort == oldest_first
    assert by_order == oldest_first
    assert by_created == [mar["id"], jan["id"], feb["id"]]


async def test_list_filters_by_type_module_range_and_company(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    call = await log(client, workspace, contact["id"], type="CALL", occurredAt=JAN)
    email = await log(
        client, workspace, contact["id"], type="EMAIL", occurredAt=FEB, companyId=company["id"]
    )
    note = await add_note(client, workspace, contact["id"])
    view = await log(
        client, workspace, contact["id"], type="PAGE_VIEW", occurredAt=MAR, module="INTEGRATION"
    )
    path = f"{CONTACTS}/{contact['id']}/activities"

    assert await ids(client, workspace, path, type="CALL") == [call["id"]]
    assert await ids(client, workspace, path, type=["CALL", "EMAIL"]) == [email["id"], call["id"]]
    assert await ids(client, workspace, path, type="NOTE") == [note["id"]]
    assert await ids(client, workspace, path, type="MEETING") == []
    assert await ids(client, workspace, path, module="INTEGRATION") == [view["id"]]
    assert await ids(client, workspace, path, module="SUPPORT") == []
    assert await ids(client, workspace, path, **{"from": FEB, "to": MAR}) == [
        view["id"],
        email["id"],
    ]
    assert await ids(client, workspace, path, **{"from": "2024-02-10T11:00:00+02:00"}) == [
        note["id"],
        view["id"],
        email["id"],
    ]
    assert await ids(client, workspace, path, to="2024-01-31T00:00:00Z") == [call["id"]]
    assert await ids(client, workspace, path, companyId=company["id"]) == [email["id"]]
    assert await ids(client, workspace, path, companyId=str(uuid.uuid4())) == []
    assert await ids(client, workspace, path, type="EMAIL", module="CRM", to=FEB) == [email["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "FAX"}, "type.0"),
        ({"type": ["CALL", "FAX"]}, "type.1"),
        ({"module": "MARKETING"}, "module"),
        ({"from": "last tuesday"}, "from"),
        ({"to": "2024-13-01"}, "to"),
        ({"companyId": "not-a-uuid"}, "companyId"),
        ({"sortBy": "subject"}, "sortBy"),
        ({"take": 101}, "take"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
async def test_invalid_list_parameters_are_400(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    params: dict[str, Any],
    field: str,
) -> None:
    for path in (f"{CONTACTS}/{contact['id']}/activities", ACTIVITIES):
        response = await client.get(path, params=params, headers=workspace.headers)
        error = assert_error(response, 400, "INVALID_REQUEST")
        assert field in detail_fields(error)


async def test_pagination_spellings_give_the_same_slice(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    logged = [
        await log(client, workspace, contact["id"], occurredAt=f"2024-01-{day:02d}T09:00:00Z")
        for day in range(1, 8)
    ]
    newest_first = [a["id"] for a in reversed(logged)]
    path = f"{CONTACTS}/{contact['id']}/activities"

    by_skip = await listing(client, workspace, path, skip=2, take=2)
    by_limit = await listing(client, workspace, path, page=2, limit=2)
    last_page = await listing(client, workspace, path, page=4, limit=2)

    assert [r["id"] for r in by_skip[0]] == newest_first[2:4]
    assert by_limit == by_skip
    meta = by_skip[1]
    assert (meta["total"], meta["skip"], meta["take"]) == (7, 2, 2)
    assert (meta["page"], meta["totalPages"], meta["hasMore"]) == (2, 4, True)
    assert [r["id"] for r in last_page[0]] == newest_first[6:]
    assert last_page[1]["hasMore"] is False


async def walk(client: httpx.AsyncClient, ws: Workspace, path: str, **params: Any) -> list[str]:
    """Every id met by following meta.nextCursor until hasMore is false."""
    rows, meta = await listing(client, ws, path, **params)
    seen = [r["id"] for r in rows]
    while meta["hasMore"]:
        assert meta["nextCursor"]
        rows, meta = await listing(client, ws, path, **params, cursor=meta["nextCursor"])
        assert meta["total"] is None
        seen += [r["id"] for r in rows]
        assert len(seen) < 50
    assert meta["nextCursor"] is None
    return seen


async def test_cursor_walk_visits_every_activity_once_even_with_ties(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    times = [FEB, JAN, FEB, MAR, FEB, JAN, APR]
    logged = [await log(client, workspace, contact["id"], occurredAt=t) for t in times]
    path = f"{CONTACTS}/{contact['id']}/activities"
    expected_desc = [
        a["id"] for a in sorted(logged, key=lambda a: (a["occurredAt"], a["id"]), reverse=True)
    ]
    expected_asc = [a["id"] for a in sorted(logged, key=lambda a: (a["occurredAt"], a["id"]))]

    newest_first = await walk(client, workspace, path, take=2)
    oldest_first = await walk(client, workspace, path, take=3, sort="occurredAt:asc")
    whole_workspace = await walk(client, workspace, ACTIVITIES, take=2)

    assert newest_first == expected_desc
    assert oldest_first == expected_asc
    assert whole_workspace == expected_desc


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "nobody@example.com", "no-such-contact"])
async def test_list_for_an_unknown_contact_is_404(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any], ref: str
) -> None:
    await log(client, workspace, contact["id"])

    for path in (f"{CONTACTS}/{ref}/activities", f"{CONTACTS}/{ref}/notes"):
        assert_error(await client.get(path, headers=workspace.headers), 404, "NOT_FOUND")


# --- POST /activities ---------------------------------------------------------------------------


async def test_log_with_a_contact_id(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log_any(client, workspace, contactId=contact["id"], occurredAt=MAR)

    assert data["contactId"] == contact["id"]
    assert data["companyId"] is None
    state, _etag = await contact_state(client, workspace, contact["id"])
    assert state["lastActivityAt"] == MAR
    [event] = await events_of_type(client, workspace, "activity.created")
    assert event["data"] == {"record": data}


async def test_log_with_a_company_id_only(
    client: httpx.AsyncClient, workspace: Workspace, company: dict[str, Any]
) -> None:
    data = await log_any(client, workspace, type="email", companyId=company["id"])

    assert data["type"] == "EMAIL"
    assert data["contactId"] is None
    assert data["companyId"] == company["id"]


async def test_log_with_a_contact_and_a_company(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    data = await log_any(client, workspace, contactId=contact["id"], companyId=company["id"])

    assert data["contactId"] == contact["id"]
    assert data["companyId"] == company["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "CALL"},
        {"type": "CALL", "contactId": None},
        {"type": "CALL", "contactId": None, "companyId": None},
    ],
)
async def test_log_needs_a_contact_or_a_company(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    body: dict[str, Any],
) -> None:
    before = await snapshot(database)

    response = await client.post(ACTIVITIES, json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"contactId"}
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("link", "field"),
    [
        ("unknown_contact", "contactId"),
        ("their_contact", "contactId"),
        ("unknown_company", "companyId"),
        ("their_company", "companyId"),
        ("my_contact_their_company", "companyId"),
        ("their_contact_my_company", "contactId"),
        ("bad_contact_id", "contactId"),
    ],
)
async def test_log_with_a_link_outside_the_workspace_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    company: dict[str, Any],
    link: str,
    field: str,
) -> None:
    their_contact = await create_contact(client, other_workspace, email="eve@example.com")
    their_company = await create_company(client, other_workspace, name="Globex")
    body: dict[str, Any] = {
        "unknown_contact": {"contactId": str(uuid.uuid4())},
        "their_contact": {"contactId": their_contact["id"]},
        "unknown_company": {"companyId": str(uuid.uuid4())},
        "their_company": {"companyId": their_company["id"]},
        "my_contact_their_company": {"contactId": contact["id"], "companyId": their_company["id"]},
        "their_contact_my_company": {"contactId": their_contact["id"], "companyId": company["id"]},
        "bad_contact_id": {"contactId": "ada@example.com"},
    }[link]
    before = await snapshot(database)

    response = await client.post(
        ACTIVITIES, json={"type": "CALL", **body}, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {field}
    assert await snapshot(database) == before


async def test_list_all_activities_filters_by_contact_and_company(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    contact: dict[str, Any],
    other_contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    ada_only = await log_any(client, workspace, contactId=contact["id"], occurredAt=JAN)
    ada_at_acme = await log_any(
        client, workspace, contactId=contact["id"], companyId=company["id"], occurredAt=FEB
    )
    acme_only = await log_any(client, workspace, companyId=company["id"], occurredAt=MAR)
    bob = await log_any(client, workspace, contactId=other_contact["id"], occurredAt=APR)
    theirs = await create_contact(client, other_workspace, email="eve@example.com")
    await log_any(client, other_workspace, contactId=theirs["id"], occurredAt=APR)

    everything, meta = await listing(client, workspace, ACTIVITIES)

    assert [a["id"] for a in everything] == [
        bob["id"],
        acme_only["id"],
        ada_at_acme["id"],
        ada_only["id"],
    ]
    assert meta["total"] == 4
    assert await ids(client, workspace, ACTIVITIES, contactId=contact["id"]) == [
        ada_at_acme["id"],
        ada_only["id"],
    ]
    assert await ids(client, workspace, ACTIVITIES, companyId=company["id"]) == [
        acme_only["id"],
        ada_at_acme["id"],
    ]
    assert await ids(
        client, workspace, ACTIVITIES, contactId=contact["id"], companyId=company["id"]
    ) == [ada_at_acme["id"]]
    assert await ids(client, workspace, ACTIVITIES, contactId=theirs["id"]) == []
    assert await ids(client, workspace, ACTIVITIES, type="CALL", to=FEB) == [
        ada_at_acme["id"],
        ada_only["id"],
    ]


# --- one activity: read, edit, delete -----------------------------------------------------------


async def test_get_one_activity(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(client, workspace, contact["id"], subject="Pricing call")

    response = await client.get(f"{ACTIVITIES}/{data['id']}", headers=workspace.headers)

    assert response.status_code == 200
    assert response.json() == {"data": data}


async def test_unknown_or_malformed_activity_id(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    await log(client, workspace, contact["id"])
    unknown = f"{ACTIVITIES}/{uuid.uuid4()}"
    before = await snapshot(database)

    assert_error(await client.get(unknown, headers=workspace.headers), 404, "NOT_FOUND")
    response = await client.patch(unknown, json={"subject": "x"}, headers=workspace.headers)
    assert_error(response, 404, "NOT_FOUND")
    assert_error(await client.delete(unknown, headers=workspace.headers), 404, "NOT_FOUND")
    malformed = await client.get(f"{ACTIVITIES}/not-a-uuid", headers=workspace.headers)
    assert_error(malformed, 400, "INVALID_ID")

    assert await snapshot(database) == before


async def test_patch_changes_the_fields_sent_and_emits_activity_updated(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(
        client,
        workspace,
        contact["id"],
        type="CALL",
        subject="Pricing call",
        content="First notes",
        properties={"duration": "30m"},
        occurredAt=FEB,
    )

    response = await client.patch(
        f"{ACTIVITIES}/{data['id']}",
        json={
            "type": "meeting",
            "subject": "  Pricing meeting ",
            "content": "Second notes",
            "properties": {"duration": "45m", "room": "A"},
            "occurredAt": "2024-02-10T12:00:00+03:00",
        },
        headers=workspace.headers,
    )

    updated = body_of(response)
    assert updated["type"] == "MEETING"
    assert updated["subject"] == "Pricing meeting"
    assert updated["content"] == "Second notes"
    assert updated["properties"] == {"duration": "45m", "room": "A"}
    assert updated["occurredAt"] == FEB
    assert updated["contactId"] == contact["id"]
    assert updated["createdAt"] == data["createdAt"]
    assert updated["actor"] == data["actor"]
    again = await client.get(f"{ACTIVITIES}/{data['id']}", headers=workspace.headers)
    assert again.json() == {"data": updated}
    [event] = await events_of_type(client, workspace, "activity.updated")
    assert event["resourceType"] == "activity"
    assert event["resourceId"] == data["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"]["record"] == updated
    assert event["data"]["changes"] == {
        "type": {"before": "CALL", "after": "MEETING"},
        "subject": {"before": "Pricing call", "after": "Pricing meeting"},
        "content": {"before": "First notes", "after": "Second notes"},
        "properties": {
            "before": {"duration": "30m"},
            "after": {"duration": "45m", "room": "A"},
        },
    }


async def test_patch_changes_only_what_was_sent(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(
        client,
        workspace,
        contact["id"],
        subject="Pricing call",
        content="Notes",
        properties={"a": 1},
        occurredAt=FEB,
    )

    response = await client.patch(
        f"{ACTIVITIES}/{data['id']}", json={"occurredAt": MAR}, headers=workspace.headers
    )

    updated = body_of(response)
    assert updated["occurredAt"] == MAR
    assert {k: v for k, v in updated.items() if k not in ("occurredAt", "updatedAt")} == {
        k: v for k, v in data.items() if k not in ("occurredAt", "updatedAt")
    }
    [event] = await events_of_type(client, workspace, "activity.updated")
    assert event["data"]["changes"] == {"occurredAt": {"before": FEB, "after": MAR}}


async def test_patch_null_clears_subject_and_content(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await log(client, workspace, contact["id"], subject="Pricing call", content="Notes")

    response = await client.patch(
        f"{ACTIVITIES}/{data['id']}",
        json={"subject": None, "content": None},
        headers=workspace.headers,
    )

    updated = body_of(response)
    assert updated["subject"] is None
    assert updated["content"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": None}, "type"),
        ({"type": "FAX"}, "type"),
        ({"occurredAt": None}, "occurredAt"),
        ({"occurredAt": "not a date"}, "occurredAt"),
        ({"properties": None}, "properties"),
        ({"properties": "x"}, "properties"),
        ({"subject": "x" * 301}, "subject"),
        ({"content": "x" * 65_537}, "content"),
        ({"module": "SUPPORT"}, "module"),
        ({"contactId": str(uuid.uuid4())}, "contactId"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    data = await log(client, workspace, contact["id"], subject="Pricing call", occurredAt=FEB)
    before = await snapshot(database)

    response = await client.patch(
        f"{ACTIVITIES}/{data['id']}",
        json={"content": "Changed", **body},
        headers=workspace.headers,
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"subject": "Pricing call"},
        {"subject": "  Pricing call  "},
        {"type": "call"},
        {"occurredAt": "2024-02-10T11:00:00+02:00"},
        {"properties": {"a": 1}},
        {"content": "Notes", "subject": "Pricing call", "type": "CALL"},
    ],
)
async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    body: dict[str, Any],
) -> None:
    data = await log(
        client,
        workspace,
        contact["id"],
        type="CALL",
        subject="Pricing call",
        content="Notes",
        properties={"a": 1},
        occurredAt=FEB,
    )
    before = await snapshot(database)

    response = await client.patch(
        f"{ACTIVITIES}/{data['id']}", json=body, headers=workspace.headers
    )

    assert body_of(response) == data
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "activity.updated") == []


async def test_delete_is_204_then_the_activity_is_gone(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    doomed = await log(client, workspace, contact["id"], subject="Doomed", occurredAt=FEB)
    kept = await log(client, workspace, contact["id"], subject="Kept", occurredAt=JAN)

    response = await client.delete(f"{ACTIVITIES}/{doomed['id']}", headers=workspace.headers)

    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"{ACTIVITIES}/{doomed['id']}", headers=workspace.headers)
    assert_error(gone, 404, "NOT_FOUND")
    assert await ids(client, workspace, f"{CONTACTS}/{contact['id']}/activities") == [kept["id"]]
    [event] = await events_of_type(client, workspace, "activity.deleted")
    assert event["resourceType"] == "activity"
    assert event["resourceId"] == doomed["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": doomed}

    before = await snapshot(database)
    again = await client.delete(f"{ACTIVITIES}/{doomed['id']}", headers=workspace.headers)
    assert_error(again, 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- notes --------------------------------------------------------------------------------------


async def test_add_note_returns_201_with_the_note(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    response = await client.post(
        f"{CONTACTS}/{contact['id']}/notes",
        json={"content": "Prefers email over calls", "subject": "Channel"},
        headers=workspace.headers,
    )

    assert response.status_code == 201, response.text
    note = response.json()["data"]
    assert set(note) == NOTE_FIELDS
    assert uuid.UUID(note["id"]).version == 7
    assert note["contactId"] == contact["id"]
    assert note["subject"] == "Channel"
    assert note["content"] == "Prefers email over calls"
    assert note["author"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert note["createdAt"].endswith("Z")
    assert note["updatedAt"].endswith("Z")
    one = await client.get(
        f"{CONTACTS}/{contact['id']}/notes/{note['id']}", headers=workspace.headers
    )
    assert one.json() == {"data": note}
    activity = body_of(await client.get(f"{ACTIVITIES}/{note['id']}", headers=workspace.headers))
    assert activity["type"] == "NOTE"
    assert activity["module"] == "CRM"
    assert activity["content"] == note["content"]
    assert activity["subject"] == note["subject"]
    [event] = await events_of_type(client, workspace, "activity.created")
    assert event["resourceId"] == note["id"]
    assert event["data"] == {"record": activity}


async def test_add_note_without_subject_by_email_and_external_id(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    by_email = await add_note(client, workspace, "ada@example.com", content="One")
    by_external_id = await add_note(client, workspace, "crm-1", content="Two")

    assert by_email["subject"] is None
    assert by_email["contactId"] == contact["id"]
    assert by_external_id["contactId"] == contact["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": None}, "content"),
        ({"subject": "Only a subject"}, "content"),
        ({"content": "x" * 65_537}, "content"),
        ({"content": "ok", "subject": "x" * 301}, "subject"),
        ({"content": "ok", "type": "CALL"}, "type"),
        ({"content": "ok", "occurredAt": MAR}, "occurredAt"),
    ],
)
async def test_invalid_note_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/notes", json=body, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_add_note_to_an_unknown_contact_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/nobody@example.com/notes", json={"content": "x"}, headers=workspace.headers
    )

    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_notes_list_only_notes_newest_first(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    other_contact: dict[str, Any],
) -> None:
    first = await add_note(client, workspace, contact["id"], content="First")
    await log(client, workspace, contact["id"], type="CALL")
    await log(client, workspace, contact["id"], type="EMAIL", occurredAt=APR)
    second = await add_note(client, workspace, contact["id"], content="Second")
    await add_note(client, workspace, other_contact["id"], content="Bob's")
    await log_any(
        client, workspace, type="NOTE", contactId=contact["id"], occurredAt=JAN, content="Old"
    )

    rows, meta = await listing(client, workspace, f"{CONTACTS}/{contact['id']}/notes")

    assert [n["content"] for n in rows] == ["Second", "First", "Old"]
    assert rows[0] == second
    assert rows[1] == first
    assert all(set(n) == NOTE_FIELDS for n in rows)
    assert meta["total"] == 3
    paged, paged_meta = await listing(
        client, workspace, f"{CONTACTS}/{contact['id']}/notes", take=1, skip=1
    )
    assert paged == [first]
    assert paged_meta["hasMore"] is True


async def test_notes_appear_among_the_contacts_note_activities(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    first = await add_note(client, workspace, contact["id"], content="First", subject="A")
    await log(client, workspace, contact["id"], type="CALL")
    second = await add_note(client, workspace, contact["id"], content="Second")

    rows, _meta = await listing(
        client, workspace, f"{CONTACTS}/{contact['id']}/activities", type="NOTE"
    )

    assert [a["id"] for a in rows] == [second["id"], first["id"]]
    assert [(a["type"], a["content"], a["subject"]) for a in rows] == [
        ("NOTE", "Second", None),
        ("NOTE", "First", "A"),
    ]


async def test_patch_note_changes_content_and_subject(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Old text", subject="Old")
    path = f"{CONTACTS}/{contact['id']}/notes/{note['id']}"

    response = await client.patch(
        path, json={"content": "New text", "subject": None}, headers=workspace.headers
    )

    updated = body_of(response)
    assert updated["content"] == "New text"
    assert updated["subject"] is None
    assert updated["createdAt"] == note["createdAt"]
    assert updated["author"] == note["author"]
    assert (await client.get(path, headers=workspace.headers)).json() == {"data": updated}
    [event] = await events_of_type(client, workspace, "activity.updated")
    assert event["resourceId"] == note["id"]
    assert event["data"]["changes"] == {
        "content": {"before": "Old text", "after": "New text"},
        "subject": {"before": "Old", "after": None},
    }


async def test_patch_note_by_email_ref(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Old text")

    response = await client.patch(
        f"{CONTACTS}/ada@example.com/notes/{note['id']}",
        json={"subject": "Added"},
        headers=workspace.headers,
    )

    assert body_of(response)["subject"] == "Added"
    assert body_of(response)["content"] == "Old text"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": None}, "content"),
        ({"content": ""}, "content"),
        ({"content": "x" * 65_537}, "content"),
        ({"subject": "x" * 301}, "subject"),
        ({"type": "CALL"}, "type"),
        ({"properties": {}}, "properties"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_note_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Keep me")
    before = await snapshot(database)

    response = await client.patch(
        f"{CONTACTS}/{contact['id']}/notes/{note['id']}",
        json={"subject": "Changed", **body},
        headers=workspace.headers,
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_a_note_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Same", subject="S")
    before = await snapshot(database)

    response = await client.patch(
        f"{CONTACTS}/{contact['id']}/notes/{note['id']}",
        json={"content": "Same", "subject": " S "},
        headers=workspace.headers,
    )

    assert body_of(response) == note
    assert await snapshot(database) == before


async def test_delete_note_is_204_and_emits_activity_deleted(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Doomed")
    kept = await add_note(client, workspace, contact["id"], content="Kept")
    activity = body_of(await client.get(f"{ACTIVITIES}/{note['id']}", headers=workspace.headers))
    path = f"{CONTACTS}/{contact['id']}/notes/{note['id']}"

    response = await client.delete(path, headers=workspace.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_error(await client.get(path, headers=workspace.headers), 404, "NOT_FOUND")
    assert await ids(client, workspace, f"{CONTACTS}/{contact['id']}/notes") == [kept["id"]]
    [event] = await events_of_type(client, workspace, "activity.deleted")
    assert event["resourceId"] == note["id"]
    assert event["data"] == {"record": activity}
    before = await snapshot(database)
    assert_error(await client.delete(path, headers=workspace.headers), 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_a_call_is_not_a_note(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    call = await log(client, workspace, contact["id"], type="CALL", content="A call")
    path = f"{CONTACTS}/{contact['id']}/notes/{call['id']}"
    before = await snapshot(database)

    got = await client.get(path, headers=workspace.headers)
    patched = await client.patch(path, json={"content": "Changed"}, headers=workspace.headers)
    deleted = await client.delete(path, headers=workspace.headers)

    for response in (got, patched, deleted):
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before
    assert await ids(client, workspace, f"{CONTACTS}/{contact['id']}/notes") == []


async def test_a_note_of_another_contact_is_404_at_this_contacts_path(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    other_contact: dict[str, Any],
) -> None:
    bobs = await add_note(client, workspace, other_contact["id"], content="Bob's")
    before = await snapshot(database)

    for ref in (contact["id"], "ada@example.com", "crm-1"):
        path = f"{CONTACTS}/{ref}/notes/{bobs['id']}"
        assert_error(await client.get(path, headers=workspace.headers), 404, "NOT_FOUND")
        patched = await client.patch(path, json={"content": "Mine"}, headers=workspace.headers)
        assert_error(patched, 404, "NOT_FOUND")
        assert_error(await client.delete(path, headers=workspace.headers), 404, "NOT_FOUND")

    assert await snapshot(database) == before
    mine = await client.get(
        f"{CONTACTS}/{other_contact['id']}/notes/{bobs['id']}", headers=workspace.headers
    )
    assert mine.json() == {"data": bobs}


async def test_unknown_note_and_malformed_note_id(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    await add_note(client, workspace, contact["id"])

    unknown = await client.get(
        f"{CONTACTS}/{contact['id']}/notes/{uuid.uuid4()}", headers=workspace.headers
    )
    malformed = await client.get(
        f"{CONTACTS}/{contact['id']}/notes/not-a-uuid", headers=workspace.headers
    )

    assert_error(unknown, 404, "NOT_FOUND")
    assert_error(malformed, 400, "INVALID_ID")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_whitespace_only_note_content_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    method: str,
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Keep me")
    path = f"{CONTACTS}/{contact['id']}/notes"
    if method == "PATCH":
        path += f"/{note['id']}"
    before = await snapshot(database)

    response = await client.request(
        method, path, json={"content": "   "}, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert "content" in detail_fields(error)
    assert await snapshot(database) == before


@pytest.mark.parametrize("route", ["patch_content_null", "patch_type_note", "post_note"])
async def test_the_activity_routes_cannot_make_a_note_without_content(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    route: str,
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Keep me")
    call = await log(client, workspace, contact["id"], type="CALL")
    before = await snapshot(database)

    if route == "patch_content_null":
        response = await client.patch(
            f"{ACTIVITIES}/{note['id']}", json={"content": None}, headers=workspace.headers
        )
    elif route == "patch_type_note":
        response = await client.patch(
            f"{ACTIVITIES}/{call['id']}", json={"type": "NOTE"}, headers=workspace.headers
        )
    else:
        response = await client.post(
            f"{CONTACTS}/{contact['id']}/activities",
            json={"type": "NOTE"},
            headers=workspace.headers,
        )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert "content" in detail_fields(error)
    assert await snapshot(database) == before
    notes, _meta = await listing(client, workspace, f"{CONTACTS}/{contact['id']}/notes")
    assert all(n["content"] for n in notes)


async def test_changing_the_type_moves_an_activity_in_or_out_of_the_notes(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    note = await add_note(client, workspace, contact["id"], content="Was a note")
    call = await log(client, workspace, contact["id"], type="CALL", content="Was a call")

    as_call = await client.patch(
        f"{ACTIVITIES}/{note['id']}", json={"type": "CALL"}, headers=workspace.headers
    )
    as_note = await client.patch(
        f"{ACTIVITIES}/{call['id']}", json={"type": "note"}, headers=workspace.headers
    )

    assert body_of(as_call)["type"] == "CALL"
    assert body_of(as_note)["type"] == "NOTE"
    assert await ids(client, workspace, f"{CONTACTS}/{contact['id']}/notes") == [call["id"]]
    old_note = await client.get(
        f"{CONTACTS}/{contact['id']}/notes/{note['id']}", headers=workspace.headers
    )
    assert_error(old_note, 404, "NOT_FOUND")


# --- scopes and isolation -----------------------------------------------------------------------


WRITES = [
    ("POST", "/contacts/{contact}/activities", {"type": "CALL"}),
    ("POST", "/activities/contacts/{contact}", {"type": "CALL"}),
    ("POST", "/activities", {"type": "CALL", "contactId": "{contact}"}),
    ("PATCH", "/activities/{activity}", {"subject": "Changed"}),
    ("DELETE", "/activities/{activity}", None),
    ("POST", "/contacts/{contact}/notes", {"content": "New"}),
    ("PATCH", "/contacts/{contact}/notes/{note}", {"content": "Changed"}),
    ("DELETE", "/contacts/{contact}/notes/{note}", None),
]
READS = [
    "/activities",
    "/activities/{activity}",
    "/contacts/{contact}/activities",
    "/activities/contacts/{contact}",
    "/contacts/{contact}/notes",
    "/contacts/{contact}/notes/{note}",
]


def fill(template: str, values: dict[str, str]) -> str:
    return template.format(**values)


def fill_body(body: dict[str, Any] | None, values: dict[str, str]) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: fill(v, values) if isinstance(v, str) else v for k, v in body.items()}


async def seeded(
    client: httpx.AsyncClient, ws: Workspace, contact: dict[str, Any]
) -> dict[str, str]:
    activity = await log(client, ws, contact["id"], subject="Call", occurredAt=FEB)
    note = await add_note(client, ws, contact["id"], content="Note")
    return {"contact": contact["id"], "activity": activity["id"], "note": note["id"]}


@pytest.mark.parametrize(("method", "template", "body"), WRITES)
async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    values = await seeded(client, workspace, contact)
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    response = await client.request(
        method, API + fill(template, values), json=fill_body(body, values), headers=reader
    )

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before


async def test_read_only_key_reads(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    values = await seeded(client, workspace, contact)
    reader = await add_key(database, workspace, ["crm:read"])

    for template in READS:
        path = API + fill(template, values)
        as_owner = await client.get(path, headers=workspace.headers)
        as_reader = await client.get(path, headers=reader)
        assert as_reader.status_code == 200, (path, as_reader.text)
        assert as_reader.json() == as_owner.json()


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, contact: dict[str, Any]
) -> None:
    values = await seeded(client, workspace, contact)
    before = await snapshot(database)

    for method, template, body in WRITES:
        response = await client.request(
            method, API + fill(template, values), json=fill_body(body, values)
        )
        assert_error(response, 401, "UNAUTHENTICATED")
    for template in READS:
        response = await client.get(API + fill(template, values))
        assert_error(response, 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


async def test_another_workspace_gets_404_everywhere(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
) -> None:
    values = await seeded(client, workspace, contact)
    before = await snapshot(database)

    for contact_ref in (contact["id"], "ada@example.com", "crm-1"):
        refs = {**values, "contact": contact_ref}
        for method, template, body in WRITES:
            if template == "/activities":
                continue  # no id in the path: refused as 422 naming contactId (below)
            response = await client.request(
                method,
                API + fill(template, refs),
                json=fill_body(body, refs),
                headers=other_workspace.headers,
            )
            assert_error(response, 404, "NOT_FOUND")
        for template in READS[1:]:
            response = await client.get(API + fill(template, refs), headers=other_workspace.headers)
            assert_error(response, 404, "NOT_FOUND")
    posted = await client.post(
        ACTIVITIES,
        json={"type": "CALL", "contactId": contact["id"]},
        headers=other_workspace.headers,
    )
    assert detail_fields(assert_error(posted, 422, "VALIDATION_FAILED")) == {"contactId"}

    assert await snapshot(database) == before
    assert await ids(client, other_workspace, ACTIVITIES) == []
    assert await ids(client, other_workspace, ACTIVITIES, contactId=contact["id"]) == []
    assert await events_of_type(client, other_workspace, "activity.*") == []


# --- deletions of what activities are linked to -------------------------------------------------


async def test_a_soft_deleted_contact_keeps_its_activities(
    client: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    activity = await log(client, workspace, contact["id"], occurredAt=FEB)
    note = await add_note(client, workspace, contact["id"])

    deleted = await client.delete(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)

    assert deleted.status_code in (200, 204), deleted.text
    state, _etag = await contact_state(client, workspace, contact["id"])
    assert state["status"] == "DELETED"
    assert set(await ids(client, workspace, f"{CONTACTS}/{contact['id']}/activities")) == {
        activity["id"],
        note["id"],
    }
    one = await client.get(f"{ACTIVITIES}/{activity['id']}", headers=workspace.headers)
    assert body_of(one)["contactId"] == contact["id"]


async def test_a_deleted_company_leaves_its_activities_with_company_id_null(
    client: httpx.AsyncClient,
    workspace: Workspace,
    contact: dict[str, Any],
    company: dict[str, Any],
) -> None:
    kept = await create_company(client, workspace, name="Kept", domain="kept.com")
    with_contact = await log(client, workspace, contact["id"], companyId=company["id"])
    company_only = await log_any(client, workspace, companyId=company["id"])
    elsewhere = await log_any(client, workspace, companyId=kept["id"])

    deleted = await client.delete(f"{COMPANIES}/{company['id']}", headers=workspace.headers)

    assert deleted.status_code == 204, deleted.text
    for activity in (with_contact, company_only):
        one = body_of(await client.get(f"{ACTIVITIES}/{activity['id']}", headers=workspace.headers))
        assert one["companyId"] is None
        assert one["contactId"] == activity["contactId"]
        assert one["updatedAt"] == activity["updatedAt"]
    other = body_of(await client.get(f"{ACTIVITIES}/{elsewhere['id']}", headers=workspace.headers))
    assert other["companyId"] == kept["id"]
    assert await ids(client, workspace, ACTIVITIES, companyId=company["id"]) == []
    assert await ids(client, workspace, f"{CONTACTS}/{contact['id']}/activities") == [
        with_contact["id"]
    ]
