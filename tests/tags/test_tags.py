"""Tags API: create with checked keys and colours, list, read, rename, re-key and delete tags;
put them on and take them off contacts and companies, with events, scopes and isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rapport.kit.db import Database
from rapport.models import CompanyTag, ContactTag, Tag
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1/tags"
CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
EVENTS = "/api/v1/events"

TAG_FIELDS = {"id", "key", "name", "description", "color", "createdAt", "updatedAt"}

# The kinds of record tags are put on (also the prefix of their tagged/untagged events).
KINDS = ["contact", "company"]


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("key", "vip")
    body.setdefault("name", "VIP")
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def fetch(client: httpx.AsyncClient, ws: Workspace, tag_id: str) -> httpx.Response:
    return await client.get(f"{API}/{tag_id}", headers=ws.headers)


async def patch(client: httpx.AsyncClient, ws: Workspace, tag_id: str, body: Any) -> httpx.Response:
    return await client.patch(f"{API}/{tag_id}", json=body, headers=ws.headers)


async def delete(client: httpx.AsyncClient, ws: Workspace, tag_id: str) -> httpx.Response:
    return await client.delete(f"{API}/{tag_id}", headers=ws.headers)


async def listing(
    client: httpx.AsyncClient, ws: Workspace, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(API, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def keys(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    rows, _meta = await listing(client, ws, **params)
    return [row["key"] for row in rows]


async def new_contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("email", "ada@example.com")
    body.setdefault("name", "Ada Lovelace")
    response = await client.post(CONTACTS, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def new_company(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Acme Corp")
    response = await client.post(COMPANIES, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def new_record(client: httpx.AsyncClient, ws: Workspace, kind: str) -> dict[str, Any]:
    """A contact (ada@example.com, externalId ext-1) or a company (externalId ext-1)."""
    if kind == "contact":
        return await new_contact(client, ws, externalId="ext-1")
    return await new_company(client, ws, externalId="ext-1")


def base(kind: str) -> str:
    return CONTACTS if kind == "contact" else COMPANIES


async def put_on(
    client: httpx.AsyncClient, ws: Workspace, kind: str, ref: str, tag_id: str
) -> httpx.Response:
    return await client.post(f"{base(kind)}/{ref}/tags", json={"tagId": tag_id}, headers=ws.headers)


async def take_off(
    client: httpx.AsyncClient, ws: Workspace, kind: str, ref: str, tag_id: str
) -> httpx.Response:
    return await client.delete(f"{base(kind)}/{ref}/tags/{tag_id}", headers=ws.headers)


async def tags_of(
    client: httpx.AsyncClient, ws: Workspace, kind: str, ref: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{base(kind)}/{ref}/tags", headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    data: list[dict[str, Any]] = body["data"]
    assert body["meta"]["total"] == len(data)
    assert body["meta"]["hasMore"] is False
    return data


async def count(database: Database, model: type[Any]) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


# --- create -------------------------------------------------------------------------------------


async def test_create_returns_201_with_the_tag(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    body = {
        "key": "vip",
        "name": "  VIP Customer ",
        "description": "High-value customers",
        "color": "#ffd700",
    }

    response = await client.post(API, json=body, headers=workspace.headers)

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == TAG_FIELDS
    uuid.UUID(data["id"])
    assert data["key"] == "vip"
    assert data["name"] == "VIP Customer"
    assert data["description"] == "High-value customers"
    assert data["color"] == "#FFD700"
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")

    again = await fetch(client, workspace, data["id"])
    assert again.status_code == 200, again.text
    assert again.json() == {"data": data}


async def test_create_defaults_and_blank_description(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    bare = await create(client, workspace, key="bare", name="Bare")
    blank = await create(client, workspace, key="blank", name="Blank", description="   ")

    assert bare["description"] is None
    assert bare["color"] is None
    assert blank["description"] is None


async def test_create_emits_tag_created_with_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, key="vip", name="VIP", color="#00aa11")

    [event] = await events_of_type(client, workspace, "tag.created")

    assert event["type"] == "tag.created"
    assert event["resourceType"] == "tag"
    assert event["resourceId"] == data["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": data}


@pytest.mark.parametrize("key", ["vip", "big-deal", "q3_2026", "a", "x" * 64, "a1-b2_c3"])
async def test_valid_keys_are_accepted(
    client: httpx.AsyncClient, workspace: Workspace, key: str
) -> None:
    data = await create(client, workspace, key=key)

    assert data["key"] == key


@pytest.mark.parametrize(
    "key",
    [
        "VIP",
        "Vip",
        "has space",
        "-lead",
        "trail-",
        "_lead",
        "trail_",
        "a--b",
        "a-_b",
        "ünï",
        "",
        "x" * 65,
        " vip",
        "vip!",
        "a.b",
        "vip\n",
    ],
)
async def test_invalid_key_is_422_naming_key(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, key: str
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json={"key": key, "name": "X"}, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"key"}
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X"}, "key"),
        ({"key": None, "name": "X"}, "key"),
        ({"key": 7, "name": "X"}, "key"),
        ({"key": "vip"}, "name"),
        ({"key": "vip", "name": None}, "name"),
        ({"key": "vip", "name": ""}, "name"),
        ({"key": "vip", "name": "   "}, "name"),
        ({"key": "vip", "name": "x" * 201}, "name"),
        ({"key": "vip", "name": "X", "description": "d" * 1001}, "description"),
        ({"key": "vip", "name": "X", "color": "red"}, "color"),
        ({"key": "vip", "name": "X", "color": "#FFF"}, "color"),
        ({"key": "vip", "name": "X", "color": "#GGGGGG"}, "color"),
        ({"key": "vip", "name": "X", "color": "FFD700"}, "color"),
        ({"key": "vip", "name": "X", "color": "#FFD7000"}, "color"),
    ],
)
async def test_invalid_create_is_422_naming_the_field(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_unknown_field_is_422(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(
        API, json={"key": "vip", "name": "VIP", "colour": "#FFD700"}, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert {"field": "colour", "message": "Unknown field"} in error["details"]
    assert await snapshot(database) == before


async def test_duplicate_key_is_409_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, key="vip", name="VIP")
    before = await snapshot(database)

    response = await client.post(
        API, json={"key": "vip", "name": "Another VIP"}, headers=workspace.headers
    )

    assert_error(response, 409, "TAG_KEY_EXISTS")
    assert await snapshot(database) == before
    assert len(await events_of_type(client, workspace, "tag.created")) == 1


async def test_same_key_in_another_workspace_is_fine(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = await create(client, workspace, key="vip", name="Mine")
    theirs = await create(client, other_workspace, key="vip", name="Theirs")

    assert mine["id"] != theirs["id"]
    assert await keys(client, workspace) == ["vip"]
    assert await keys(client, other_workspace) == ["vip"]
    [only] = (await listing(client, other_workspace))[0]
    assert only["name"] == "Theirs"


async def test_idempotency_key_creates_one_tag(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "tag-create-1"}
    body = {"key": "vip", "name": "VIP"}

    first = await client.post(API, json=body, headers=headers)
    assert first.status_code == 201, first.text
    after_first = await snapshot(database)
    second = await client.post(API, json=body, headers=headers)

    assert second.status_code == 201, second.text
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await snapshot(database) == after_first
    assert await count(database, Tag) == 1
    assert len(await events_of_type(client, workspace, "tag.created")) == 1


# --- read and list ------------------------------------------------------------------------------


async def test_get_one_tag_and_unknown_ids(client: httpx.AsyncClient, workspace: Workspace) -> None:
    tag = await create(client, workspace)

    found = await fetch(client, workspace, tag["id"])
    assert found.status_code == 200, found.text
    assert found.json() == {"data": tag}
    assert_error(await fetch(client, workspace, str(uuid.uuid4())), 404, "NOT_FOUND")
    error = assert_error(await fetch(client, workspace, "not-a-uuid"), 400, "INVALID_ID")
    assert detail_fields(error) == {"tag_id"}


async def test_list_is_newest_first_with_meta(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    tags = [await create(client, workspace, key=f"t{n}", name=f"T{n}") for n in range(3)]
    await create(client, other_workspace, key="theirs", name="Theirs")

    rows, meta = await listing(client, workspace)

    assert rows == list(reversed(tags))
    assert meta == {
        "total": 3,
        "skip": 0,
        "take": 25,
        "page": 1,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


async def test_search_matches_key_or_name_ignoring_case(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace, key="vip", name="Very Important")
    await create(client, workspace, key="big-deal", name="Big deal")
    await create(client, workspace, key="q3_2026", name="Third quarter")
    await create(client, workspace, key="q3-2026", name="Another quarter")
    await create(client, workspace, key="churn", name="100% lost")

    assert await keys(client, workspace, search="VIP", sort="key:asc") == ["vip"]
    assert await keys(client, workspace, search="important") == ["vip"]
    assert await keys(client, workspace, search="deal", sort="key:asc") == ["big-deal"]
    assert await keys(client, workspace, search="quarter", sort="key:asc") == [
        "q3-2026",
        "q3_2026",
    ]
    assert await keys(client, workspace, search="3_2") == ["q3_2026"]
    assert await keys(client, workspace, search="%") == ["churn"]
    assert await keys(client, workspace, search="zzz") == []


async def test_sort_by_key_and_by_name(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await create(client, workspace, key="charlie", name="Bravo")
    await create(client, workspace, key="alpha", name="Delta")
    await create(client, workspace, key="delta", name="Alpha")
    await create(client, workspace, key="bravo", name="Charlie")

    assert await keys(client, workspace, sort="key:asc") == ["alpha", "bravo", "charlie", "delta"]
    assert await keys(client, workspace, sort="key:desc") == ["delta", "charlie", "bravo", "alpha"]
    assert await keys(client, workspace, sortBy="name") == ["delta", "charlie", "bravo", "alpha"]
    assert await keys(client, workspace, sortBy="name", sortOrder="desc") == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
    ]


async def test_pagination(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for n in range(5):
        await create(client, workspace, key=f"tag-{n}", name=f"Tag {n}")

    first, meta = await listing(client, workspace, sort="key:asc", take=2)
    second, meta2 = await listing(client, workspace, sort="key:asc", page=2, pageSize=2)
    last, meta3 = await listing(client, workspace, sort="key:asc", skip=4, take=2)

    assert [t["key"] for t in first] == ["tag-0", "tag-1"]
    assert [t["key"] for t in second] == ["tag-2", "tag-3"]
    assert [t["key"] for t in last] == ["tag-4"]
    assert meta["total"] == 5
    assert meta["totalPages"] == 3
    assert meta["hasMore"] is True
    assert meta2["page"] == 2
    assert meta3["hasMore"] is False


async def test_cursor_walk_visits_every_tag_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    made = sorted(
        [(await create(client, workspace, key=f"k{n}", name=f"K{n}"))["key"] for n in range(5)]
    )
    seen: list[str] = []
    params: dict[str, Any] = {"sort": "key:asc", "take": 2}

    for _ in range(5):
        rows, meta = await listing(client, workspace, **params)
        seen += [row["key"] for row in rows]
        if meta["nextCursor"] is None:
            break
        params = {"cursor": meta["nextCursor"], "take": 2}

    assert seen == made


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortBy": "color"}, "sortBy"),
        ({"sort": "description:asc"}, "sort"),
        ({"take": 101}, "take"),
        ({"search": "x" * 201}, "search"),
    ],
)
async def test_invalid_list_parameters_are_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, Any], field: str
) -> None:
    response = await client.get(API, params=params, headers=workspace.headers)

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert field in detail_fields(error)


# --- update -------------------------------------------------------------------------------------


async def test_patch_renames_rekeys_recolours_and_clears_description(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    tag = await create(
        client, workspace, key="vip", name="VIP", description="Big ones", color="#FFD700"
    )

    response = await patch(
        client,
        workspace,
        tag["id"],
        {"key": "very-important", "name": " Very Important ", "color": "#00ff00"},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == tag["id"]
    assert data["key"] == "very-important"
    assert data["name"] == "Very Important"
    assert data["color"] == "#00FF00"
    assert data["description"] == "Big ones"
    assert data["createdAt"] == tag["createdAt"]
    assert data["updatedAt"] >= tag["updatedAt"]

    cleared = await patch(client, workspace, tag["id"], {"description": None, "color": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"]["description"] is None
    assert cleared.json()["data"]["color"] is None
    assert (await fetch(client, workspace, tag["id"])).json()["data"] == cleared.json()["data"]

    blanked = await patch(client, workspace, tag["id"], {"description": "x"})
    assert blanked.json()["data"]["description"] == "x"
    blanked = await patch(client, workspace, tag["id"], {"description": "  "})
    assert blanked.json()["data"]["description"] is None


async def test_patch_emits_tag_updated_with_changes(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP", color="#FFD700")

    response = await patch(client, workspace, tag["id"], {"key": "gold", "color": "#c0c0c0"})
    assert response.status_code == 200, response.text

    [event] = await events_of_type(client, workspace, "tag.updated")
    assert event["resourceType"] == "tag"
    assert event["resourceId"] == tag["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"]["record"] == response.json()["data"]
    assert event["data"]["changes"] == {
        "key": {"before": "vip", "after": "gold"},
        "color": {"before": "#FFD700", "after": "#C0C0C0"},
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "VIP"},
        {"key": "vip"},
        {"color": "#ffd700"},
        {"name": " VIP ", "description": None},
    ],
)
async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, body: dict[str, Any]
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP", color="#FFD700")
    before = await snapshot(database)

    response = await patch(client, workspace, tag["id"], body)

    assert response.status_code == 200, response.text
    assert response.json()["data"] == tag
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "tag.updated") == []


async def test_rekey_to_a_taken_key_is_409_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, key="vip", name="VIP")
    other = await create(client, workspace, key="gold", name="Gold")
    before = await snapshot(database)

    response = await patch(client, workspace, other["id"], {"key": "vip", "name": "Renamed"})

    assert_error(response, 409, "TAG_KEY_EXISTS")
    assert await snapshot(database) == before
    assert (await fetch(client, workspace, other["id"])).json()["data"] == other


async def test_rekey_to_a_key_used_in_another_workspace_is_fine(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await create(client, other_workspace, key="vip", name="Theirs")
    mine = await create(client, workspace, key="gold", name="Gold")

    response = await patch(client, workspace, mine["id"], {"key": "vip"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["key"] == "vip"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": None}, "key"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"key": ""}, "key"),
        ({"key": "Big Deal"}, "key"),
        ({"key": "a--b"}, "key"),
        ({"key": "x" * 65}, "key"),
        ({"color": "red"}, "color"),
        ({"color": "#FFF"}, "color"),
        ({"name": "x" * 201}, "name"),
        ({"colour": "#FFFFFF"}, "colour"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP")
    before = await snapshot(database)

    response = await patch(client, workspace, tag["id"], body)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_patch_unknown_or_malformed_id(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    unknown = await patch(client, workspace, str(uuid.uuid4()), {"name": "X"})
    malformed = await patch(client, workspace, "nope", {"name": "X"})

    assert_error(unknown, 404, "NOT_FOUND")
    assert_error(malformed, 400, "INVALID_ID")
    assert await snapshot(database) == before


# --- delete -------------------------------------------------------------------------------------


async def test_delete_takes_the_tag_off_everything_and_keeps_the_records(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP")
    keep = await create(client, workspace, key="keep", name="Keep")
    contact = await new_contact(client, workspace, email="ada@example.com")
    company = await new_company(client, workspace, name="Acme")
    for kind, record in (("contact", contact), ("company", company)):
        for t in (tag, keep):
            assert (await put_on(client, workspace, kind, record["id"], t["id"])).status_code == 201

    response = await delete(client, workspace, tag["id"])

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_error(await fetch(client, workspace, tag["id"]), 404, "NOT_FOUND")
    assert await tags_of(client, workspace, "contact", contact["id"]) == [keep]
    assert await tags_of(client, workspace, "company", company["id"]) == [keep]
    assert await count(database, ContactTag) == 1
    assert await count(database, CompanyTag) == 1
    got_contact = await client.get(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)
    got_company = await client.get(f"{COMPANIES}/{company['id']}", headers=workspace.headers)
    assert got_contact.status_code == 200
    assert got_company.status_code == 200
    assert await keys(client, workspace) == ["keep"]


async def test_delete_empties_the_lists_of_a_record_carrying_only_that_tag(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    tag = await create(client, workspace)
    contact = await new_contact(client, workspace)
    assert (await put_on(client, workspace, "contact", contact["id"], tag["id"])).status_code == 201

    assert (await delete(client, workspace, tag["id"])).status_code == 204

    assert await tags_of(client, workspace, "contact", contact["id"]) == []


async def test_delete_emits_tag_deleted_and_a_second_delete_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP", color="#FFD700")

    assert (await delete(client, workspace, tag["id"])).status_code == 204
    [event] = await events_of_type(client, workspace, "tag.deleted")
    before = await snapshot(database)
    again = await delete(client, workspace, tag["id"])

    assert event["resourceType"] == "tag"
    assert event["resourceId"] == tag["id"]
    assert event["data"] == {"record": tag}
    assert_error(again, 404, "NOT_FOUND")
    assert await snapshot(database) == before
    assert_error(await delete(client, workspace, "nope"), 400, "INVALID_ID")


async def test_a_tag_may_be_recreated_with_the_key_of_a_deleted_one(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    old = await create(client, workspace, key="vip", name="Old")
    assert (await delete(client, workspace, old["id"])).status_code == 204

    new = await create(client, workspace, key="vip", name="New")

    assert new["id"] != old["id"]


async def test_deleting_a_tagged_company_or_contact_works(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    tag = await create(client, workspace)
    contact = await new_contact(client, workspace)
    company = await new_company(client, workspace)
    assert (await put_on(client, workspace, "contact", contact["id"], tag["id"])).status_code == 201
    assert (await put_on(client, workspace, "company", company["id"], tag["id"])).status_code == 201

    gone_company = await client.delete(f"{COMPANIES}/{company['id']}", headers=workspace.headers)
    gone_contact = await client.delete(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)

    assert gone_company.status_code == 204, gone_company.text
    assert gone_contact.status_code == 200, gone_contact.text  # contacts are soft-deleted
    assert gone_contact.json()["data"]["status"] == "DELETED"
    assert await count(database, CompanyTag) == 0
    assert (await fetch(client, workspace, tag["id"])).status_code == 200


# --- tags on contacts and companies -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_putting_a_tag_on_is_201_then_200(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, kind: str
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP", color="#FFD700")
    record = await new_record(client, workspace, kind)
    link_model = ContactTag if kind == "contact" else CompanyTag

    first = await put_on(client, workspace, kind, record["id"], tag["id"])

    assert first.status_code == 201, first.text
    assert first.json() == {"data": tag}
    [event] = await events_of_type(client, workspace, f"{kind}.tagged")
    assert event["resourceType"] == kind
    assert event["resourceId"] == record["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"tag": tag}
    assert await count(database, link_model) == 1

    before = await snapshot(database)
    second = await put_on(client, workspace, kind, record["id"], tag["id"])

    assert second.status_code == 200, second.text
    assert second.json() == {"data": tag}
    assert await snapshot(database) == before
    assert len(await events_of_type(client, workspace, f"{kind}.tagged")) == 1
    assert await tags_of(client, workspace, kind, record["id"]) == [tag]


@pytest.mark.parametrize(
    ("kind", "refs"),
    [
        ("contact", ["{id}", "ada@example.com", "ADA@Example.com", "ext-1"]),
        ("company", ["{id}", "ext-1"]),
    ],
)
async def test_record_ref_may_be_id_email_or_external_id(
    client: httpx.AsyncClient, workspace: Workspace, kind: str, refs: list[str]
) -> None:
    record = await new_record(client, workspace, kind)
    tags = [
        await create(client, workspace, key=f"tag-{n}", name=f"Tag {n}") for n in range(len(refs))
    ]

    for ref, tag in zip(refs, tags, strict=True):
        ref = ref.format(id=record["id"])
        response = await put_on(client, workspace, kind, ref, tag["id"])
        assert response.status_code == 201, (ref, response.text)
        assert await tags_of(client, workspace, kind, ref) == tags[: tags.index(tag) + 1]

    for ref in refs:
        again = await put_on(client, workspace, kind, ref.format(id=record["id"]), tags[0]["id"])
        assert again.status_code == 200, (ref, again.text)
    for ref, tag in zip(refs, tags, strict=True):
        ref = ref.format(id=record["id"])
        assert (await take_off(client, workspace, kind, ref, tag["id"])).status_code == 204

    assert await tags_of(client, workspace, kind, record["id"]) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_tags_are_listed_in_the_order_they_were_put_on(
    client: httpx.AsyncClient, workspace: Workspace, kind: str
) -> None:
    record = await new_record(client, workspace, kind)
    other = await new_contact(client, workspace, email="bob@example.com")
    zulu = await create(client, workspace, key="zulu", name="Zulu")
    alpha = await create(client, workspace, key="alpha", name="Alpha")
    mike = await create(client, workspace, key="mike", name="Mike")
    assert await tags_of(client, workspace, kind, record["id"]) == []

    for tag in (mike, zulu, alpha):
        assert (await put_on(client, workspace, kind, record["id"], tag["id"])).status_code == 201
    assert (await put_on(client, workspace, "contact", other["id"], zulu["id"])).status_code == 201

    assert await tags_of(client, workspace, kind, record["id"]) == [mike, zulu, alpha]


@pytest.mark.parametrize("kind", KINDS)
async def test_tagged_event_carries_the_tag_as_it_was(
    client: httpx.AsyncClient, workspace: Workspace, kind: str
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP")
    record = await new_record(client, workspace, kind)
    assert (await put_on(client, workspace, kind, record["id"], tag["id"])).status_code == 201
    renamed = (await patch(client, workspace, tag["id"], {"name": "Gold"})).json()["data"]

    [event] = await events_of_type(client, workspace, f"{kind}.tagged")

    assert event["data"] == {"tag": tag}
    assert await tags_of(client, workspace, kind, record["id"]) == [renamed]


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_tag_is_422_naming_tag_id(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, kind: str
) -> None:
    record = await new_record(client, workspace, kind)
    before = await snapshot(database)

    for tag_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = await put_on(client, workspace, kind, record["id"], tag_id)
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert detail_fields(error) == {"tagId"}
    missing = await client.post(
        f"{base(kind)}/{record['id']}/tags", json={}, headers=workspace.headers
    )
    assert "tagId" in detail_fields(assert_error(missing, 422, "VALIDATION_FAILED"))
    extra = await client.post(
        f"{base(kind)}/{record['id']}/tags",
        json={"tagId": str(uuid.uuid4()), "key": "vip"},
        headers=workspace.headers,
    )
    assert "key" in detail_fields(assert_error(extra, 422, "VALIDATION_FAILED"))

    assert await snapshot(database) == before


@pytest.mark.parametrize("kind", KINDS)
async def test_another_workspaces_tag_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    kind: str,
) -> None:
    theirs = await create(client, other_workspace, key="vip", name="Theirs")
    record = await new_record(client, workspace, kind)
    before = await snapshot(database)

    response = await put_on(client, workspace, kind, record["id"], theirs["id"])

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"tagId"}
    assert await snapshot(database) == before
    assert await tags_of(client, workspace, kind, record["id"]) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_record_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, kind: str
) -> None:
    tag = await create(client, workspace)
    await new_record(client, workspace, kind)
    before = await snapshot(database)

    for ref in (str(uuid.uuid4()), "nobody@example.com", "ext-404"):
        assert_error(await put_on(client, workspace, kind, ref, tag["id"]), 404, "NOT_FOUND")
        listed = await client.get(f"{base(kind)}/{ref}/tags", headers=workspace.headers)
        assert_error(listed, 404, "NOT_FOUND")
        assert_error(await take_off(client, workspace, kind, ref, tag["id"]), 404, "NOT_FOUND")

    assert await snapshot(database) == before


@pytest.mark.parametrize("kind", KINDS)
async def test_taking_a_tag_off_is_204_with_an_event(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, kind: str
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP")
    keep = await create(client, workspace, key="keep", name="Keep")
    record = await new_record(client, workspace, kind)
    for t in (tag, keep):
        assert (await put_on(client, workspace, kind, record["id"], t["id"])).status_code == 201

    response = await take_off(client, workspace, kind, record["id"], tag["id"])

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await tags_of(client, workspace, kind, record["id"]) == [keep]
    [event] = await events_of_type(client, workspace, f"{kind}.untagged")
    assert event["resourceType"] == kind
    assert event["resourceId"] == record["id"]
    assert event["data"] == {"tag": tag}
    assert (await fetch(client, workspace, tag["id"])).status_code == 200

    before = await snapshot(database)
    again = await take_off(client, workspace, kind, record["id"], tag["id"])
    assert_error(again, 404, "NOT_FOUND")
    assert await snapshot(database) == before

    back = await put_on(client, workspace, kind, record["id"], tag["id"])
    assert back.status_code == 201, back.text
    assert await tags_of(client, workspace, kind, record["id"]) == [keep, tag]


@pytest.mark.parametrize("kind", KINDS)
async def test_taking_off_a_tag_not_carried_is_404_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, kind: str
) -> None:
    carried = await create(client, workspace, key="carried", name="Carried")
    not_carried = await create(client, workspace, key="other", name="Other")
    record = await new_record(client, workspace, kind)
    other = await new_company(client, workspace, name="Other Co", externalId="ext-2")
    assert (await put_on(client, workspace, kind, record["id"], carried["id"])).status_code == 201
    assert (
        await put_on(client, workspace, "company", other["id"], not_carried["id"])
    ).status_code == 201
    before = await snapshot(database)

    # By id or by key; a key nobody has is just another tag not carried.
    for tag_ref in (not_carried["id"], str(uuid.uuid4()), "other", "no-such-key"):
        response = await take_off(client, workspace, kind, record["id"], tag_ref)
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, f"{kind}.untagged") == []


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tag_comes_off_by_its_key(
    client: httpx.AsyncClient, workspace: Workspace, kind: str
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP")
    record = await new_record(client, workspace, kind)
    assert (await put_on(client, workspace, kind, record["id"], tag["id"])).status_code == 201
    response = await take_off(client, workspace, kind, record["id"], "vip")
    assert response.status_code == 204
    assert await tags_of(client, workspace, kind, record["id"]) == []
    assert len(await events_of_type(client, workspace, f"{kind}.untagged")) == 1


# --- scopes and isolation -----------------------------------------------------------------------


async def test_read_only_key_can_read_but_not_write(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    tag = await create(client, workspace, key="vip", name="VIP")
    spare = await create(client, workspace, key="spare", name="Spare")
    contact = await new_contact(client, workspace, externalId="c-1")
    company = await new_company(client, workspace, externalId="co-1")
    for kind, record in (("contact", contact), ("company", company)):
        assert (await put_on(client, workspace, kind, record["id"], tag["id"])).status_code == 201
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    listed = await client.get(API, headers=reader)
    one = await client.get(f"{API}/{tag['id']}", headers=reader)
    on_contact = await client.get(f"{CONTACTS}/{contact['id']}/tags", headers=reader)
    on_company = await client.get(f"{COMPANIES}/{company['id']}/tags", headers=reader)
    assert listed.status_code == 200
    assert {t["key"] for t in listed.json()["data"]} == {"vip", "spare"}
    assert one.json() == {"data": tag}
    assert on_contact.json()["data"] == [tag]
    assert on_company.json()["data"] == [tag]

    writes = [
        ("POST", API, {"key": "new", "name": "New"}),
        ("PATCH", f"{API}/{tag['id']}", {"name": "Changed"}),
        ("DELETE", f"{API}/{tag['id']}", None),
    ]
    for path, record in ((CONTACTS, contact), (COMPANIES, company)):
        writes.append(("POST", f"{path}/{record['id']}/tags", {"tagId": spare["id"]}))
        writes.append(("POST", f"{path}/{record['id']}/tags", {"tagId": tag["id"]}))
        writes.append(("DELETE", f"{path}/{record['id']}/tags/{tag['id']}", None))
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=reader)
        assert_error(response, 403, "FORBIDDEN")

    assert await snapshot(database) == before


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    tag = await create(client, workspace)
    before = await snapshot(database)

    assert_error(await client.get(API), 401, "UNAUTHENTICATED")
    assert_error(await client.post(API, json={"key": "x", "name": "X"}), 401, "UNAUTHENTICATED")
    assert_error(await client.delete(f"{API}/{tag['id']}"), 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


async def test_another_workspace_gets_404_on_every_route(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    tag = await create(client, workspace, key="secret", name="Secret")
    contact = await new_contact(client, workspace, email="ada@example.com", externalId="c-1")
    company = await new_company(client, workspace, name="Acme", externalId="co-1")
    for kind, record in (("contact", contact), ("company", company)):
        assert (await put_on(client, workspace, kind, record["id"], tag["id"])).status_code == 201
    own_tag = await create(client, other_workspace, key="mine", name="Mine")
    stranger = other_workspace
    before = await snapshot(database)

    assert_error(await fetch(client, stranger, tag["id"]), 404, "NOT_FOUND")
    assert_error(await patch(client, stranger, tag["id"], {"name": "Mine"}), 404, "NOT_FOUND")
    assert_error(await patch(client, stranger, tag["id"], {"key": "x"}), 404, "NOT_FOUND")
    assert_error(await delete(client, stranger, tag["id"]), 404, "NOT_FOUND")
    refs = {
        "contact": [contact["id"], "ada@example.com", "c-1"],
        "company": [company["id"], "co-1"],
    }
    for kind, kind_refs in refs.items():
        for ref in kind_refs:
            listed = await client.get(f"{base(kind)}/{ref}/tags", headers=stranger.headers)
            assert_error(listed, 404, "NOT_FOUND")
            for tag_id in (tag["id"], own_tag["id"]):
                response = await put_on(client, stranger, kind, ref, tag_id)
                assert_error(response, 404, "NOT_FOUND")
            assert_error(await take_off(client, stranger, kind, ref, tag["id"]), 404, "NOT_FOUND")

    assert await snapshot(database) == before
    assert await keys(client, stranger) == ["mine"]
    assert await keys(client, stranger, search="secret") == []
    assert await events_of_type(client, stranger, "contact.tagged") == []
    assert await tags_of(client, workspace, "contact", contact["id"]) == [tag]
    assert await tags_of(client, workspace, "company", company["id"]) == [tag]
