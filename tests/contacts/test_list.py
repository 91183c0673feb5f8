"""Listing contacts: filters, sorting, offset pagination and cursor walks."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from rapport.kit.db import Database
from rapport.models import Contact
from tests.helpers import EVERY_WORKSPACE, Workspace, snapshot

API = "/api/v1/contacts"


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def listing(
    client: httpx.AsyncClient, ws: Workspace, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(API, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def ids(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    rows, _meta = await listing(client, ws, **params)
    return [row["id"] for row in rows]


def bad_request(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert field in {d.get("field") for d in error["details"]}
    assert field in error["message"]


async def set_created_at(database: Database, contact_id: str, when: datetime) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(Contact).where(Contact.id == uuid.UUID(contact_id)).values(created_at=when)
        )


def expected_order(contacts: list[dict[str, Any]], field: str, descending: bool) -> list[str]:
    """(field, id) order with nulls last in both directions, as the API documents."""
    present = [c for c in contacts if c[field] is not None]
    missing = [c for c in contacts if c[field] is None]

    def value(c: dict[str, Any]) -> Any:
        return datetime.fromisoformat(c[field]) if field == "createdAt" else c[field]

    present.sort(key=lambda c: (value(c), uuid.UUID(c["id"])), reverse=descending)
    missing.sort(key=lambda c: uuid.UUID(c["id"]), reverse=descending)
    return [c["id"] for c in present + missing]


async def seven(client: httpx.AsyncClient, ws: Workspace) -> list[dict[str, Any]]:
    """Seven contacts, oldest first."""
    return [await create(client, ws, name=f"Person {n}") for n in range(7)]


async def walk(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    """Every id met by following meta.nextCursor until hasMore is false."""
    seen: list[str] = []
    rows, meta = await listing(client, ws, **params)
    seen += [r["id"] for r in rows]
    pages = 1
    while meta["hasMore"]:
        assert meta["nextCursor"]
        rows, meta = await listing(client, ws, **params, cursor=meta["nextCursor"])
        seen += [r["id"] for r in rows]
        pages += 1
        assert pages < 50
    assert meta["nextCursor"] is None
    return seen


# --- envelope and default order -----------------------------------------------------------------


async def test_list_is_newest_first_by_default(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contacts = [await create(client, workspace, name=f"C{n}") for n in range(3)]

    rows, meta = await listing(client, workspace)

    assert rows == list(reversed(contacts))
    assert meta == {
        "total": 3,
        "skip": 0,
        "take": 25,
        "page": 1,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


async def test_empty_list(client: httpx.AsyncClient, workspace: Workspace) -> None:
    rows, meta = await listing(client, workspace)

    assert rows == []
    assert meta["total"] == 0
    assert meta["hasMore"] is False


async def test_list_shows_only_this_workspaces_contacts(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = await create(client, workspace, email="mine@example.com")
    await create(client, other_workspace, email="theirs@example.com")

    assert await ids(client, workspace) == [mine["id"]]
    assert await ids(client, workspace, search="theirs") == []


# --- filters ------------------------------------------------------------------------------------


SEARCHES = {
    "alice": ["alice"],
    "JOHNSON": ["alice"],
    "Example.ORG": ["bob"],
    "5552671": ["alice"],
    "+44": ["bob"],
    "o": ["alice", "bob"],
    "nobody": [],
}


async def test_search_matches_name_email_or_phone_ignoring_case(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    people = {
        "alice": await create(
            client, workspace, name="Alice Johnson", email="ajay@example.com", phone="+14155552671"
        ),
        "bob": await create(
            client, workspace, name="Bob Brown", email="bob@example.org", phone="+442079460958"
        ),
    }

    found = {term: await ids(client, workspace, search=term, sortBy="name") for term in SEARCHES}

    assert found == {
        term: [people[name]["id"] for name in names] for term, names in SEARCHES.items()
    }


async def test_search_treats_wildcards_literally(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    percent = await create(client, workspace, name="Save 10% Now")
    underscore = await create(client, workspace, email="a_b@example.com")
    await create(client, workspace, email="axb@example.com", name="Plain 100")

    found = {term: await ids(client, workspace, search=term) for term in ("%", "10%", "_", "a_b")}

    assert found == {
        "%": [percent["id"]],
        "10%": [percent["id"]],
        "_": [underscore["id"]],
        "a_b": [underscore["id"]],
    }


async def test_filter_by_status(client: httpx.AsyncClient, workspace: Workspace) -> None:
    active = await create(client, workspace, name="Active")
    archived = await create(client, workspace, name="Archived", status="ARCHIVED")
    deleted = await create(client, workspace, name="Deleted")
    await client.delete(f"{API}/{deleted['id']}", headers=workspace.headers)

    assert await ids(client, workspace, status="ARCHIVED") == [archived["id"]]
    assert await ids(client, workspace, status="ACTIVE") == [active["id"]]
    assert await ids(client, workspace, status="DELETED") == [deleted["id"]]
    assert await ids(client, workspace) == [archived["id"], active["id"]]


async def test_filter_by_lifecycle_stage(client: httpx.AsyncClient, workspace: Workspace) -> None:
    lead = await create(client, workspace, name="Lead", lifecycleStage="LEAD")
    await create(client, workspace, name="Customer", lifecycleStage="CUSTOMER")
    await create(client, workspace, name="None")

    assert await ids(client, workspace, lifecycleStage="LEAD") == [lead["id"]]


async def test_filter_by_is_identified(client: httpx.AsyncClient, workspace: Workspace) -> None:
    by_email = await create(client, workspace, email="e@example.com")
    by_external_id = await create(client, workspace, externalId="ext-1")
    anonymous = await create(client, workspace, phone="+14155552671")

    identified = await ids(client, workspace, isIdentified="true")
    unidentified = await ids(client, workspace, isIdentified="false")

    assert identified == [by_external_id["id"], by_email["id"]]
    assert unidentified == [anonymous["id"]]


async def test_filter_by_created_range(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    jan, feb, mar = [await create(client, workspace, name=m) for m in ("Jan", "Feb", "Mar")]
    await set_created_at(database, jan["id"], datetime(2024, 1, 1, tzinfo=UTC))
    await set_created_at(database, feb["id"], datetime(2024, 2, 1, tzinfo=UTC))
    await set_created_at(database, mar["id"], datetime(2024, 3, 1, tzinfo=UTC))

    after = await ids(client, workspace, **{"from": "2024-01-15T00:00:00Z"})
    before = await ids(client, workspace, to="2024-02-15T00:00:00Z")
    between = await ids(
        client, workspace, **{"from": "2024-01-15T00:00:00Z", "to": "2024-02-15T00:00:00Z"}
    )
    inclusive = await ids(
        client, workspace, **{"from": "2024-02-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}
    )
    date_only = await ids(client, workspace, **{"from": "2024-02-01"})

    assert after == [mar["id"], feb["id"]]
    assert before == [feb["id"], jan["id"]]
    assert between == [feb["id"]]
    assert inclusive == [feb["id"]]
    assert date_only == [mar["id"], feb["id"]]


async def test_filter_by_module_finds_contacts_with_activity_in_it(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    helped, sold, quiet = [await create(client, workspace, name=n) for n in ("H", "S", "Q")]
    theirs = await create(client, other_workspace, name="T")
    for contact, module, ws in (
        (helped, "SUPPORT", workspace),
        (helped, "SUPPORT", workspace),
        (helped, "CRM", workspace),
        (sold, "CRM", workspace),
        (theirs, "SUPPORT", other_workspace),
    ):
        logged = await client.post(
            f"{API}/{contact['id']}/activities",
            json={"type": "CALL", "module": module},
            headers=ws.headers,
        )
        assert logged.status_code in (201, 202), logged.text

    assert await ids(client, workspace, module="SUPPORT") == [helped["id"]]
    assert await ids(client, workspace, module="CRM") == [sold["id"], helped["id"]]
    assert await ids(client, workspace, module="INTEGRATION") == []
    assert quiet["id"] in await ids(client, workspace)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "GONE"}, "status"),
        ({"module": "BILLING"}, "module"),
        ({"lifecycleStage": "BOGUS"}, "lifecycleStage"),
        ({"isIdentified": "maybe"}, "isIdentified"),
        ({"from": "last tuesday"}, "from"),
    ],
)
async def test_invalid_filter_value_is_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, str], field: str
) -> None:
    response = await client.get(API, params=params, headers=workspace.headers)

    bad_request(response, field)


# --- sorting ------------------------------------------------------------------------------------


async def sortable(client: httpx.AsyncClient, ws: Workspace) -> list[dict[str, Any]]:
    """Contacts whose name and email orders differ from their creation order; some lack both."""
    return [
        await create(client, ws, name="Carla", email="bea@example.com"),
        await create(client, ws, name="Anton", email="dan@example.com"),
        await create(client, ws, phone="+14155552671"),
        await create(client, ws, name="Bruno", email="cid@example.com"),
        await create(client, ws, externalId="ext-1"),
        await create(client, ws, name="Dora", email="abe@example.com"),
    ]


@pytest.mark.parametrize("field", ["createdAt", "email", "name"])
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_sort_by_field_and_order(
    client: httpx.AsyncClient, workspace: Workspace, field: str, order: str
) -> None:
    contacts = await sortable(client, workspace)
    expected = expected_order(contacts, field, order == "desc")

    assert await ids(client, workspace, sortBy=field, sortOrder=order) == expected
    assert await ids(client, workspace, sort=f"{field}:{order}") == expected


async def test_sort_by_without_order_is_ascending(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contacts = await sortable(client, workspace)

    assert await ids(client, workspace, sortBy="name") == expected_order(contacts, "name", False)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortBy": "favouriteColour"}, "sortBy"),
        ({"sortBy": "createdAt", "sortOrder": "sideways"}, "sortOrder"),
        ({"sort": "password:desc"}, "sort"),
        ({"sort": "name:up"}, "sort"),
    ],
)
async def test_unknown_sort_is_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, str], field: str
) -> None:
    await create(client, workspace, name="Someone")

    bad_request(await client.get(API, params=params, headers=workspace.headers), field)


# --- offset pagination --------------------------------------------------------------------------


async def test_three_pagination_spellings_give_the_same_slice(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contacts = await seven(client, workspace)
    newest_first = [c["id"] for c in reversed(contacts)]

    by_skip = await listing(client, workspace, skip=2, take=2)
    by_limit = await listing(client, workspace, page=2, limit=2)
    by_page_size = await listing(client, workspace, page=2, pageSize=2)

    assert [r["id"] for r in by_skip[0]] == newest_first[2:4]
    assert by_limit[0] == by_skip[0]
    assert by_page_size[0] == by_skip[0]
    for _rows, meta in (by_skip, by_limit, by_page_size):
        assert meta["total"] == 7
        assert meta["skip"] == 2
        assert meta["take"] == 2
        assert meta["page"] == 2
        assert meta["totalPages"] == 4
        assert meta["hasMore"] is True
        assert meta["nextCursor"]


async def test_last_page_has_no_more(client: httpx.AsyncClient, workspace: Workspace) -> None:
    contacts = await seven(client, workspace)

    rows, meta = await listing(client, workspace, page=4, limit=2)

    assert [r["id"] for r in rows] == [contacts[0]["id"]]
    assert meta == {
        "total": 7,
        "skip": 6,
        "take": 2,
        "page": 4,
        "totalPages": 4,
        "hasMore": False,
        "nextCursor": None,
    }


async def test_page_past_the_end_is_empty(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await seven(client, workspace)

    rows, meta = await listing(client, workspace, skip=50, take=10)

    assert rows == []
    assert meta["total"] == 7
    assert meta["hasMore"] is False


async def test_page_size_of_100_is_allowed(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await create(client, workspace, name="One")

    _rows, meta = await listing(client, workspace, take=100)

    assert meta["take"] == 100


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"take": 101}, "take"),
        ({"limit": 500}, "limit"),
        ({"pageSize": 101}, "pageSize"),
        ({"take": 0}, "take"),
        ({"take": -5}, "take"),
        ({"skip": -1}, "skip"),
        ({"page": 0}, "page"),
        ({"take": "ten"}, "take"),
        ({"skip": 10, "page": 1, "take": 10}, "page"),
    ],
)
async def test_bad_page_parameters_are_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, Any], field: str
) -> None:
    bad_request(await client.get(API, params=params, headers=workspace.headers), field)


async def test_skip_and_page_may_both_be_sent_when_they_agree(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contacts = await seven(client, workspace)

    rows, meta = await listing(client, workspace, skip=3, page=2, take=3)

    assert [r["id"] for r in rows] == [c["id"] for c in reversed(contacts)][3:6]
    assert meta["page"] == 2


# --- cursor walks -------------------------------------------------------------------------------


async def test_cursor_walk_visits_every_contact_once_newest_first(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contacts = await seven(client, workspace)

    seen = await walk(client, workspace, take=3)

    assert seen == [c["id"] for c in reversed(contacts)]


async def test_cursor_pages_report_position_but_no_total(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seven(client, workspace)
    _rows, first = await listing(client, workspace, take=3)

    rows, meta = await listing(client, workspace, take=3, cursor=first["nextCursor"])

    assert len(rows) == 3
    assert meta["take"] == 3
    assert meta["hasMore"] is True
    assert meta["total"] is None


@pytest.mark.parametrize(
    ("field", "order"), [("name", "asc"), ("name", "desc"), ("email", "asc"), ("createdAt", "asc")]
)
async def test_cursor_walk_by_sort_field_with_nulls(
    client: httpx.AsyncClient, workspace: Workspace, field: str, order: str
) -> None:
    contacts = await sortable(client, workspace)
    contacts.append(await create(client, workspace, phone="+442079460958"))
    contacts.append(await create(client, workspace, name="Anton", email="zed@example.com"))

    seen = await walk(client, workspace, take=2, sortBy=field, sortOrder=order)

    assert seen == expected_order(contacts, field, order == "desc")


async def test_cursor_walk_with_sort_spelling(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contacts = await sortable(client, workspace)

    seen = await walk(client, workspace, take=4, sort="email:desc")

    assert seen == expected_order(contacts, "email", True)


def forged(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


GARBAGE_CURSORS = [
    pytest.param("garbage", id="not-base64-json"),
    pytest.param("!!!", id="punctuation"),
    pytest.param(forged({"f": "name"}), id="missing-keys"),
    pytest.param(
        forged({"f": "password", "d": False, "k": "v", "v": "x", "i": str(uuid.uuid4())}),
        id="unknown-sort-field",
    ),
    pytest.param(
        forged({"f": "createdAt", "d": True, "k": "dt", "v": "yesterday", "i": str(uuid.uuid4())}),
        id="bad-datetime",
    ),
    pytest.param(
        forged({"f": "createdAt", "d": True, "k": "v", "v": "yesterday", "i": str(uuid.uuid4())}),
        id="text-for-datetime-field",
    ),
    pytest.param(
        forged({"f": "name", "d": False, "k": "v", "v": {"a": 1}, "i": str(uuid.uuid4())}),
        id="object-for-text-field",
    ),
    pytest.param(
        forged({"f": "name", "d": False, "k": "v", "v": "Bob", "i": "not-a-uuid"}), id="bad-id"
    ),
]


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
async def test_garbage_cursor_is_400(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, cursor: str
) -> None:
    await create(client, workspace, name="Someone")
    before = await snapshot(database)

    bad_request(
        await client.get(API, params={"cursor": cursor}, headers=workspace.headers), "cursor"
    )
    assert await snapshot(database) == before


async def test_cursor_for_another_sort_is_400(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seven(client, workspace)
    _rows, meta = await listing(client, workspace, take=2, sortBy="name")

    response = await client.get(
        API,
        params={"cursor": meta["nextCursor"], "sortBy": "email", "take": 2},
        headers=workspace.headers,
    )

    bad_request(response, "cursor")
