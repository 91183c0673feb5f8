"""Companies API: create with normalised domain, website and phone; owners from the workspace;
reads by id or externalId; listing, typeahead search, update, delete, events and scopes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from rapport.kit.db import Database
from rapport.models import Company, CompanyMembership
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1/companies"
CONTACTS = "/api/v1/contacts"
EVENTS = "/api/v1/events"

RECORD_FIELDS = {
    "id",
    "name",
    "domain",
    "externalId",
    "industry",
    "size",
    "plan",
    "website",
    "phone",
    "role",
    "status",
    "ownerUserId",
    "properties",
    "createdAt",
    "updatedAt",
}


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Acme Corp")
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def fetch(client: httpx.AsyncClient, ws: Workspace, ref: str) -> httpx.Response:
    return await client.get(f"{API}/{ref}", headers=ws.headers)


async def etag_of(client: httpx.AsyncClient, ws: Workspace, ref: str) -> str:
    response = await fetch(client, ws, ref)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


async def patch(
    client: httpx.AsyncClient, ws: Workspace, ref: str, body: Any, if_match: str | None = None
) -> httpx.Response:
    headers = dict(ws.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.patch(f"{API}/{ref}", json=body, headers=headers)


async def delete(
    client: httpx.AsyncClient, ws: Workspace, ref: str, if_match: str | None = None
) -> httpx.Response:
    headers = dict(ws.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.delete(f"{API}/{ref}", headers=headers)


async def listing(
    client: httpx.AsyncClient, ws: Workspace, path: str = API, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(path, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def names(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    rows, _meta = await listing(client, ws, **params)
    return [row["name"] for row in rows]


async def set_created_at(database: Database, company_id: str, when: datetime) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(Company).where(Company.id == uuid.UUID(company_id)).values(created_at=when)
        )


async def count_memberships(database: Database) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(select(func.count()).select_from(CompanyMembership)) or 0)


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


def bad_request(response: httpx.Response, field: str) -> None:
    error = assert_error(response, 400, "INVALID_REQUEST")
    assert field in detail_fields(error)


@pytest.fixture
async def lenient_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 response of an unhandled error instead of the exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --- create -------------------------------------------------------------------------------------


async def test_create_returns_201_with_etag_and_full_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    body = {
        "name": "  Acme Corp ",
        "domain": "https://www.Acme.com/about",
        "externalId": "cmp_1042",
        "industry": "SaaS",
        "size": "50-200",
        "plan": "Enterprise",
        "website": "acme.com",
        "phone": "+1 (415) 555-2671",
        "role": "customer",
        "status": "inactive",
        "properties": {"annual_revenue": 5000000, "tier": "gold"},
    }

    response = await client.post(API, json=body, headers=workspace.headers)

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == RECORD_FIELDS
    assert uuid.UUID(data["id"]).version == 7
    assert data["name"] == "Acme Corp"
    assert data["domain"] == "acme.com"
    assert data["externalId"] == "cmp_1042"
    assert data["industry"] == "SaaS"
    assert data["size"] == "50-200"
    assert data["plan"] == "Enterprise"
    assert data["website"] == "https://acme.com"
    assert data["phone"] == "+14155552671"
    assert data["role"] == "customer"
    assert data["status"] == "inactive"
    assert data["ownerUserId"] is None
    assert data["properties"] == {"annual_revenue": 5000000, "tier": "gold"}
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")
    etag = response.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')

    again = await fetch(client, workspace, data["id"])
    assert again.status_code == 200
    assert again.json() == {"data": data}
    assert again.headers["ETag"] == etag


async def test_create_sets_the_location_header(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(API, json={"name": "Acme"}, headers=workspace.headers)

    assert response.status_code == 201
    assert response.headers.get("Location") == f"{API}/{response.json()['data']['id']}"


async def test_create_defaults(client: httpx.AsyncClient, workspace: Workspace) -> None:
    data = await create(client, workspace, name="Bare")

    assert data["role"] == "prospect"
    assert data["status"] == "active"
    assert data["properties"] == {}
    for field in ("domain", "externalId", "industry", "size", "plan", "website", "phone"):
        assert data[field] is None, field
    assert data["ownerUserId"] is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("ACME.com.", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("  http://Sub.Example.ORG:8080/x?y=1  ", "sub.example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("https://BÜCHER.example/", "xn--bcher-kva.example"),
    ],
)
async def test_domain_is_stored_normalised(
    client: httpx.AsyncClient, workspace: Workspace, given: str, stored: str
) -> None:
    data = await create(client, workspace, domain=given)

    assert data["domain"] == stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("acme.com", "https://acme.com"),
        ("acme.com/pricing", "https://acme.com/pricing"),
        ("http://acme.com", "http://acme.com"),
        ("https://Acme.com/About", "https://Acme.com/About"),
    ],
)
async def test_website_gets_https_when_bare(
    client: httpx.AsyncClient, workspace: Workspace, given: str, stored: str
) -> None:
    data = await create(client, workspace, website=given)

    assert data["website"] == stored


async def test_phone_is_stored_as_e164(client: httpx.AsyncClient, workspace: Workspace) -> None:
    spellings = {"+1 415 555 2671": "+14155552671", "+44 20 7946 0958": "+442079460958"}

    stored = {s: (await create(client, workspace, phone=s))["phone"] for s in spellings}

    assert stored == spellings


async def test_blank_optional_strings_are_stored_as_null(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, domain="  ", website="", phone=" ", industry=" ")

    assert data["domain"] is None
    assert data["website"] is None
    assert data["phone"] is None
    assert data["industry"] is None


async def test_create_emits_company_created_with_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, name="Acme", domain="acme.com")

    [event] = await events_of_type(client, workspace, "company.created")

    assert event["resourceType"] == "company"
    assert event["resourceId"] == data["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": data}


# --- create refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second", ["acme.com", "www.acme.com", "https://ACME.com/pricing", "acme.com.", " Acme.COM "]
)
async def test_duplicate_domain_is_409_however_spelled(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, second: str
) -> None:
    await create(client, workspace, name="Acme", domain="acme.com")
    before = await snapshot(database)

    response = await client.post(
        API, json={"name": "Acme again", "domain": second}, headers=workspace.headers
    )

    assert_error(response, 409, "COMPANY_DOMAIN_EXISTS")
    assert await snapshot(database) == before


async def test_duplicate_external_id_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, name="Acme", externalId="cmp-1")
    before = await snapshot(database)

    response = await client.post(
        API, json={"name": "Other", "externalId": "cmp-1"}, headers=workspace.headers
    )

    assert_error(response, 409, "COMPANY_EXTERNAL_ID_EXISTS")
    assert await snapshot(database) == before


async def test_domain_and_external_id_may_repeat_in_another_workspace(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = await create(client, workspace, domain="acme.com", externalId="cmp-1")
    theirs = await create(client, other_workspace, domain="acme.com", externalId="cmp-1")

    assert mine["id"] != theirs["id"]
    assert theirs["domain"] == "acme.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 301}, "name"),
        ({"name": "Acme", "domain": "not a domain"}, "domain"),
        ({"name": "Acme", "domain": "localhost"}, "domain"),
        ({"name": "Acme", "domain": "-acme.com"}, "domain"),
        ({"name": "Acme", "domain": "https://"}, "domain"),
        ({"name": "Acme", "phone": "12"}, "phone"),
        ({"name": "Acme", "phone": "not a phone"}, "phone"),
        ({"name": "Acme", "phone": "415 555 2671"}, "phone"),
        ({"name": "Acme", "website": "ftp://x"}, "website"),
        ({"name": "Acme", "website": "https://acme .com"}, "website"),
        ({"name": "Acme", "website": "https://a..com/"}, "website"),
        ({"name": "Acme", "website": "https://" + "a" * 64 + ".com/"}, "website"),
        ({"name": "Acme", "website": "a." * 1020 + "com"}, "website"),
        ({"name": "Acme", "role": "partner"}, "role"),
        ({"name": "Acme", "role": None}, "role"),
        ({"name": "Acme", "status": "archived"}, "status"),
        ({"name": "Acme", "ownerUserId": "not-a-uuid"}, "ownerUserId"),
        ({"name": "Acme", "ownerUserId": str(uuid.uuid4())}, "ownerUserId"),
        ({"name": "Acme", "properties": ["a"]}, "properties"),
        ({"name": "Acme", "externalId": ""}, "externalId"),
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
        API, json={"name": "Acme", "colour": "red"}, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert {"field": "colour", "message": "Unknown field"} in error["details"]
    assert await snapshot(database) == before


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_malformed_website_url_is_422_not_500(
    lenient_client: httpx.AsyncClient, workspace: Workspace, database: Database, method: str
) -> None:
    created = await create(lenient_client, workspace, name="Acme", externalId="cmp-1")
    url = API if method == "POST" else f"{API}/cmp-1"
    before = await snapshot(database)

    response = await lenient_client.request(
        method,
        url,
        json={"name": "Acme 2", "website": "http://[acme.com"},
        headers=workspace.headers,
    )

    assert await snapshot(database) == before
    assert (await fetch(lenient_client, workspace, created["id"])).json()["data"] == created
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"website"}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", {"name": "New Co"}),
        ("PATCH", "/cmp-1", {"name": "Changed"}),
        ("DELETE", "/cmp-1", None),
    ],
)
async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    created = await create(client, workspace, name="Acme", externalId="cmp-1")
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    response = await client.request(method, API + suffix, json=body, headers=reader)

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before
    one = await client.get(f"{API}/{created['id']}", headers=reader)
    assert one.status_code == 200
    assert one.json()["data"] == created


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json={"name": "Anon Co"})

    assert_error(response, 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


# --- read one -----------------------------------------------------------------------------------


async def test_get_by_id_and_by_external_id(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, name="Acme", externalId="cmp_1042")

    by_id = await fetch(client, workspace, data["id"])
    by_external_id = await fetch(client, workspace, "cmp_1042")

    for response in (by_id, by_external_id):
        assert response.status_code == 200
        assert response.json() == {"data": data}
    assert by_id.headers["ETag"] == by_external_id.headers["ETag"]


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "no-such-company"])
async def test_unknown_company_is_404(
    client: httpx.AsyncClient, workspace: Workspace, ref: str
) -> None:
    await create(client, workspace, name="Acme", externalId="cmp-1")

    assert_error(await fetch(client, workspace, ref), 404, "NOT_FOUND")


async def test_another_workspaces_company_is_404_everywhere(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    theirs = await create(client, other_workspace, name="Globex", externalId="glx-1")
    etag = await etag_of(client, other_workspace, theirs["id"])
    before = await snapshot(database)

    for ref in (theirs["id"], "glx-1"):
        assert_error(await fetch(client, workspace, ref), 404, "NOT_FOUND")
        assert_error(await patch(client, workspace, ref, {"name": "Mine"}), 404, "NOT_FOUND")
        assert_error(await patch(client, workspace, ref, {"name": "M"}, etag), 404, "NOT_FOUND")
        assert_error(await delete(client, workspace, ref), 404, "NOT_FOUND")
        response = await client.get(f"{API}/{ref}/contacts", headers=workspace.headers)
        assert_error(response, 404, "NOT_FOUND")

    assert await snapshot(database) == before
    assert await names(client, workspace) == []
    assert await names(client, workspace, search="globex") == []


# --- list ---------------------------------------------------------------------------------------


async def test_list_is_newest_first_with_meta(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    companies = [await create(client, workspace, name=f"C{n}") for n in range(3)]
    await create(client, other_workspace, name="Theirs")

    rows, meta = await listing(client, workspace)

    assert rows == list(reversed(companies))
    assert meta == {
        "total": 3,
        "skip": 0,
        "take": 25,
        "page": 1,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


async def test_filters_by_role_status_industry_and_size(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace, name="A", role="customer", industry="SaaS", size="1-10")
    await create(client, workspace, name="B", role="vendor", status="inactive", industry="Retail")
    await create(client, workspace, name="C", role="customer", status="inactive", size="50-200")

    assert await names(client, workspace, role="customer") == ["C", "A"]
    assert await names(client, workspace, role="both") == []
    assert await names(client, workspace, status="inactive") == ["C", "B"]
    assert await names(client, workspace, status="active") == ["A"]
    assert await names(client, workspace, industry="SaaS") == ["A"]
    assert await names(client, workspace, size="50-200") == ["C"]
    assert await names(client, workspace, role="customer", status="inactive") == ["C"]


@pytest.mark.parametrize("param", ["search", "q"])
async def test_search_matches_name_or_domain_ignoring_case(
    client: httpx.AsyncClient, workspace: Workspace, param: str
) -> None:
    await create(client, workspace, name="Acme Corp", domain="acme.com")
    await create(client, workspace, name="Globex", domain="globex-acme.io")
    await create(client, workspace, name="Initech", domain="initech.com")
    await create(client, workspace, name="100% Pure")

    assert await names(client, workspace, **{param: "ACME"}) == ["Globex", "Acme Corp"]
    assert await names(client, workspace, **{param: "initech.COM"}) == ["Initech"]
    assert await names(client, workspace, **{param: "tech"}) == ["Initech"]
    assert await names(client, workspace, **{param: "%"}) == ["100% Pure"]
    assert await names(client, workspace, **{param: "zzz"}) == []


async def test_filter_by_created_range(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    jan, feb, mar = [await create(client, workspace, name=m) for m in ("Jan", "Feb", "Mar")]
    await set_created_at(database, jan["id"], datetime(2024, 1, 1, tzinfo=UTC))
    await set_created_at(database, feb["id"], datetime(2024, 2, 1, tzinfo=UTC))
    await set_created_at(database, mar["id"], datetime(2024, 3, 1, tzinfo=UTC))

    after = await names(client, workspace, **{"from": "2024-01-15T00:00:00Z"})
    before = await names(client, workspace, to="2024-02-15T00:00:00Z")
    between = await names(
        client, workspace, **{"from": "2024-01-15T00:00:00Z", "to": "2024-02-15T00:00:00Z"}
    )

    assert after == ["Mar", "Feb"]
    assert before == ["Feb", "Jan"]
    assert between == ["Feb"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"role": "partner"}, "role"),
        ({"from": "last tuesday"}, "from"),
        ({"sortBy": "industry"}, "sortBy"),
        ({"sort": "phone:desc"}, "sort"),
        ({"take": 101}, "take"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
async def test_invalid_list_parameters_are_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, Any], field: str
) -> None:
    bad_request(await client.get(API, params=params, headers=workspace.headers), field)


async def test_three_pagination_spellings_give_the_same_slice(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    companies = [await create(client, workspace, name=f"Company {n}") for n in range(7)]
    newest_first = [c["id"] for c in reversed(companies)]

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


async def test_sort_by_name_and_by_domain(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await create(client, workspace, name="Charlie", domain="alpha.io")
    await create(client, workspace, name="Alpha", domain="delta.io")
    await create(client, workspace, name="Delta")
    await create(client, workspace, name="Bravo", domain="charlie.io")

    by_name = await names(client, workspace, sortBy="name", sortOrder="asc")
    by_name_desc = await names(client, workspace, sort="name:desc")
    by_domain_desc = await names(client, workspace, sort="domain:desc")
    by_domain = await names(client, workspace, sortBy="domain")

    assert by_name == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert by_name_desc == ["Delta", "Charlie", "Bravo", "Alpha"]
    assert by_domain_desc == ["Alpha", "Bravo", "Charlie", "Delta"]  # nulls last
    assert by_domain == ["Charlie", "Bravo", "Alpha", "Delta"]


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


async def test_cursor_walk_visits_every_company_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    companies = [
        await create(client, workspace, name=name, domain=domain)
        for name, domain in [
            ("Echo", None),
            ("Alpha", "zulu.io"),
            ("Delta", "bravo.io"),
            ("Bravo", None),
            ("Charlie", "alpha.io"),
        ]
    ]
    by_id = {c["name"]: c["id"] for c in companies}

    newest_first = await walk(client, workspace, take=2)
    by_name = await walk(client, workspace, take=2, sort="name:asc")
    by_domain = await walk(client, workspace, take=2, sortBy="domain", sortOrder="asc")

    assert newest_first == [c["id"] for c in reversed(companies)]
    assert by_name == [by_id[n] for n in ("Alpha", "Bravo", "Charlie", "Delta", "Echo")]
    assert by_domain[:3] == [by_id[n] for n in ("Charlie", "Delta", "Alpha")]
    assert sorted(by_domain[3:]) == sorted([by_id["Echo"], by_id["Bravo"]])


# --- typeahead search ---------------------------------------------------------------------------


async def test_typeahead_is_name_ordered_and_respects_the_limit(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await create(client, workspace, name="Zac Labs")
    await create(client, workspace, name="Other", domain="acorn.io")
    await create(client, workspace, name="Bacon Co")
    await create(client, workspace, name="Acme")
    await create(client, workspace, name="Initech", domain="initech.com")
    await create(client, other_workspace, name="Academy")

    first_two, meta = await listing(client, workspace, f"{API}/search", q="ac", limit=2)
    every, _ = await listing(client, workspace, f"{API}/search", q="AC")

    assert [c["name"] for c in first_two] == ["Acme", "Bacon Co"]
    assert meta["total"] == 4
    assert meta["hasMore"] is True
    assert [c["name"] for c in every] == ["Acme", "Bacon Co", "Other", "Zac Labs"]
    assert set(every[0]) == RECORD_FIELDS


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "ac", "limit": 0}, "limit"),
        ({"q": "a", "limit": 101}, "limit"),
    ],
)
async def test_typeahead_bad_query_is_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, Any], field: str
) -> None:
    response = await client.get(f"{API}/search", params=params, headers=workspace.headers)

    bad_request(response, field)


# --- update -------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(
        client, workspace, name="Acme", domain="acme.com", industry="SaaS", size="1-10"
    )
    etag = await etag_of(client, workspace, created["id"])

    response = await patch(
        client,
        workspace,
        created["id"],
        {
            "name": "Acme Inc",
            "domain": "https://www.New-Acme.io/home",
            "website": "new-acme.io",
            "phone": "+44 20 7946 0958",
            "role": "both",
            "status": "inactive",
        },
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["name"] == "Acme Inc"
    assert data["domain"] == "new-acme.io"
    assert data["website"] == "https://new-acme.io"
    assert data["phone"] == "+442079460958"
    assert data["role"] == "both"
    assert data["status"] == "inactive"
    assert data["industry"] == "SaaS"
    assert data["size"] == "1-10"
    assert data["createdAt"] == created["createdAt"]
    assert response.headers["ETag"] != etag
    again = await fetch(client, workspace, created["id"])
    assert again.json() == {"data": data}
    assert again.headers["ETag"] == response.headers["ETag"]


async def test_patch_null_clears_optional_fields(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(
        client, workspace, name="Acme", domain="acme.com", phone="+14155552671", plan="Pro"
    )

    response = await patch(
        client, workspace, created["id"], {"domain": None, "phone": None, "plan": None}
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["domain"], data["phone"], data["plan"]) == (None, None, None)
    assert data["name"] == "Acme"


async def test_patch_merges_properties_key_by_key(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace, properties={"a": 1, "b": 2, "c": {"x": 1}})

    response = await patch(client, workspace, created["id"], {"properties": {"b": None, "d": 4}})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {"a": 1, "c": {"x": 1}, "d": 4}


async def test_patch_emits_company_updated_with_changes(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace, name="Acme", domain="acme.com", properties={"a": 1})

    response = await patch(
        client,
        workspace,
        created["id"],
        {"name": "Acme Inc", "domain": "acme.io", "properties": {"b": 2}},
    )

    assert response.status_code == 200, response.text
    [event] = await events_of_type(client, workspace, "company.updated")
    assert event["resourceType"] == "company"
    assert event["resourceId"] == created["id"]
    assert event["data"]["record"] == response.json()["data"]
    assert event["data"]["changes"] == {
        "name": {"before": "Acme", "after": "Acme Inc"},
        "domain": {"before": "acme.com", "after": "acme.io"},
        "properties": {"before": {"a": 1}, "after": {"a": 1, "b": 2}},
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "Acme"},
        {"name": "  Acme  ", "domain": "https://WWW.acme.com/x"},
        {"role": "prospect", "status": "active"},
        {"properties": {"gone": None}},
    ],
)
async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, body: dict[str, Any]
) -> None:
    created = await create(client, workspace, name="Acme", domain="acme.com")
    etag = await etag_of(client, workspace, created["id"])
    before = await snapshot(database)

    response = await patch(client, workspace, created["id"], body)

    assert response.status_code == 200, response.text
    assert response.json()["data"] == created
    assert response.headers["ETag"] == etag
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "company.updated") == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"domain": "www.taken.com"}, "COMPANY_DOMAIN_EXISTS"),
        ({"domain": "TAKEN.com."}, "COMPANY_DOMAIN_EXISTS"),
        ({"externalId": "taken-1"}, "COMPANY_EXTERNAL_ID_EXISTS"),
    ],
)
async def test_patch_to_a_taken_domain_or_external_id_is_409(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    code: str,
) -> None:
    await create(client, workspace, name="Taken", domain="taken.com", externalId="taken-1")
    mine = await create(client, workspace, name="Mine", domain="mine.com")
    before = await snapshot(database)

    response = await patch(client, workspace, mine["id"], {**body, "name": "Renamed"})

    assert_error(response, 409, code)
    assert await snapshot(database) == before


async def test_patch_with_a_stale_etag_is_412(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await create(client, workspace, name="Acme")
    stale = await etag_of(client, workspace, created["id"])
    first = await patch(client, workspace, created["id"], {"name": "Acme 2"}, stale)
    assert first.status_code == 200, first.text
    before = await snapshot(database)

    response = await patch(client, workspace, created["id"], {"name": "Acme 3"}, stale)

    assert_error(response, 412, "PRECONDITION_FAILED")
    assert await snapshot(database) == before
    current = first.headers["ETag"]
    assert (
        await patch(client, workspace, created["id"], {"plan": "X"}, current)
    ).status_code == 200
    assert (await patch(client, workspace, created["id"], {"plan": "Y"}, "*")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": None}, "role"),
        ({"status": None}, "status"),
        ({"role": "partner"}, "role"),
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"domain": "localhost"}, "domain"),
        ({"website": "ftp://x"}, "website"),
        ({"website": "a..com"}, "website"),
        ({"website": "a" * 64 + ".com"}, "website"),
        ({"phone": "12"}, "phone"),
        ({"ownerUserId": str(uuid.uuid4())}, "ownerUserId"),
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
    created = await create(client, workspace, name="Acme", domain="acme.com")
    before = await snapshot(database)

    response = await patch(client, workspace, created["id"], {"industry": "Changed", **body})

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_patch_unknown_company_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, name="Acme")
    before = await snapshot(database)

    response = await patch(client, workspace, str(uuid.uuid4()), {"name": "Ghost"})

    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_patch_by_external_id(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace, name="Acme", externalId="cmp-1")

    response = await patch(client, workspace, "cmp-1", {"externalId": "cmp-2"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["externalId"] == "cmp-2"
    assert (await fetch(client, workspace, "cmp-2")).json()["data"]["id"] == created["id"]
    assert_error(await fetch(client, workspace, "cmp-1"), 404, "NOT_FOUND")


# --- delete -------------------------------------------------------------------------------------


async def test_delete_is_204_then_the_company_is_gone(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await create(client, workspace, name="Acme", externalId="cmp-1", domain="acme.com")

    response = await delete(client, workspace, created["id"])

    assert response.status_code == 204
    assert response.content == b""
    assert_error(await fetch(client, workspace, created["id"]), 404, "NOT_FOUND")
    assert_error(await fetch(client, workspace, "cmp-1"), 404, "NOT_FOUND")
    assert await names(client, workspace) == []

    before = await snapshot(database)
    assert_error(await delete(client, workspace, created["id"]), 404, "NOT_FOUND")
    assert await snapshot(database) == before

    reused = await create(
        client, workspace, name="Acme again", externalId="cmp-1", domain="acme.com"
    )
    assert reused["id"] != created["id"]


async def test_delete_by_external_id(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace, name="Acme", externalId="cmp-1")

    assert (await delete(client, workspace, "cmp-1")).status_code == 204

    assert_error(await fetch(client, workspace, created["id"]), 404, "NOT_FOUND")


async def test_delete_removes_memberships_but_keeps_the_contacts(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    doomed = await create(client, workspace, name="Doomed", domain="doomed.com")
    kept = await create(client, workspace, name="Kept", domain="kept.com")
    contact = await client.post(
        CONTACTS, json={"email": "ada@example.com", "name": "Ada"}, headers=workspace.headers
    )
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["data"]["id"]
    for company, primary in ((doomed, True), (kept, False)):
        linked = await client.post(
            f"{CONTACTS}/{contact_id}/companies",
            json={"companyId": company["id"], "role": "CTO", "isPrimary": primary},
            headers=workspace.headers,
        )
        assert linked.status_code == 201, linked.text
    assert await count_memberships(database) == 2

    response = await delete(client, workspace, doomed["id"])

    assert response.status_code == 204
    assert await count_memberships(database) == 1
    still = await client.get(f"{CONTACTS}/{contact_id}", headers=workspace.headers)
    assert still.status_code == 200
    assert still.json()["data"]["status"] == "ACTIVE"
    companies, _meta = await listing(client, workspace, f"{CONTACTS}/{contact_id}/companies")
    assert [c["company"]["id"] for c in companies] == [kept["id"]]
    members, _meta = await listing(client, workspace, CONTACTS, companyId=doomed["id"])
    assert members == []


async def test_delete_emits_company_deleted_with_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace, name="Acme", domain="acme.com")

    assert (await delete(client, workspace, created["id"])).status_code == 204

    [event] = await events_of_type(client, workspace, "company.deleted")
    assert event["resourceType"] == "company"
    assert event["resourceId"] == created["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert event["data"] == {"record": created}


async def test_delete_with_a_stale_etag_is_412(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await create(client, workspace, name="Acme")
    stale = await etag_of(client, workspace, created["id"])
    changed = await patch(client, workspace, created["id"], {"name": "Acme 2"})
    assert changed.status_code == 200
    before = await snapshot(database)

    response = await delete(client, workspace, created["id"], stale)

    assert_error(response, 412, "PRECONDITION_FAILED")
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "company.deleted") == []
    current = changed.headers["ETag"]
    assert (await delete(client, workspace, created["id"], current)).status_code == 204


async def test_typeahead_refuses_a_blank_query(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await create(client, workspace, name="Acme")
    response = await client.get(
        "/api/v1/companies/search", params={"q": "   "}, headers=workspace.headers
    )
    assert_error(response, 400, "INVALID_REQUEST")
