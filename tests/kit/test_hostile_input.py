"""Input no column or number type can hold is refused with a 4xx, never a 500."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from rapport.kit.limits import MAX_JSON_DEPTH
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, Workspace, assert_error, snapshot

CONTACTS = "/api/v1/contacts"


@pytest.mark.parametrize(
    "params",
    [
        {"skip": str(10**20)},
        {"page": str(10**20)},
        {"take": str(10**20)},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31T23:59:59-14:00"},
        {"search": "a\x00b"},
    ],
)
async def test_out_of_range_query_values_are_400(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, str]
) -> None:
    response = await client.get(CONTACTS, params=params, headers=workspace.headers)
    assert_error(response, 400, "INVALID_REQUEST")


async def test_nul_in_a_path_is_400(client: httpx.AsyncClient, workspace: Workspace) -> None:
    response = await client.get(f"{CONTACTS}/a%00b", headers=workspace.headers)
    assert_error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "Ada\\u0000"}',
        b'{"email": "a@example.com", "properties": {"x": NaN}}',
        b'{"email": "a@example.com", "properties": {"deep": [1, Infinity]}}',
        b'{"email": "a@example.com", "properties": {"k\\u0000": 1}}',
    ],
)
async def test_unstorable_body_values_are_422_and_change_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, raw: bytes
) -> None:
    before = await snapshot(database)
    response = await client.post(
        CONTACTS, content=raw, headers={**workspace.headers, "Content-Type": "application/json"}
    )
    assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


DEEP = b"[" * 11 + b"1" + b"]" * 11
HOSTILE_PROPERTIES = {
    "a 10**30 integer": (b'{"n": 1000000000000000000000000000000}', "properties.n"),
    "a 400-digit integer": (b'{"n": 1' + b"0" * 400 + b"}", "properties.n"),
    "below -2**63": (b'{"n": -9223372036854775809}', "properties.n"),
    "a float overflowing to infinity": (b'{"n": 1e400}', "properties.n"),
    "a lone surrogate in a value": (b'{"t": "a\\ud800b"}', "properties.t"),
    "a lone surrogate in a key": (b'{"k\\udfff": 1}', "properties"),
    "nesting deeper than 10": (b'{"deep": ' + DEEP + b"}", "properties.deep"),
    "a list over 100 items": (b'{"amp": [' + b",".join([b"1"] * 101) + b"]}", "properties"),
    "over 200 keys": (
        b"{" + b",".join(b'"k%d": 1' % i for i in range(201)) + b"}",
        "properties",
    ),
    "a key over 64 characters": (b'{"' + b"k" * 65 + b'": 1}', "properties"),
}


async def _post_raw(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str, raw: bytes
) -> httpx.Response:
    headers = {**ws.headers, "Content-Type": "application/json"}
    return await client.request(method, path, content=raw, headers=headers)


@pytest.mark.parametrize("hostile", list(HOSTILE_PROPERTIES))
async def test_hostile_property_values_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, hostile: str
) -> None:
    """Contact properties (free ones allowed here), activity properties and a PATCH alike."""
    raw, field = HOSTILE_PROPERTIES[hostile]
    made = await client.post(CONTACTS, json={"name": "Ada"}, headers=workspace.headers)
    contact_id = made.json()["data"]["id"]
    before = await snapshot(database)

    answers = [
        await _post_raw(
            client, workspace, "POST", CONTACTS, b'{"name": "B", "properties": ' + raw + b"}"
        ),
        await _post_raw(
            client, workspace, "PATCH", f"{CONTACTS}/{contact_id}", b'{"properties": ' + raw + b"}"
        ),
        await _post_raw(
            client,
            workspace,
            "POST",
            "/api/v1/activities",
            b'{"type": "CALL", "contactId": "%s", "properties": %s}' % (contact_id.encode(), raw),
        ),
    ]

    for response in answers:
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert any(d["field"].startswith(field) for d in error["details"]), error
    assert await snapshot(database) == before


async def test_a_properties_patch_is_bounded_in_time(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """Half a million list items (about 1 MB) are refused before any row is written."""
    made = await client.post(CONTACTS, json={"name": "Ada"}, headers=workspace.headers)
    raw = b'{"properties": {"amp": [' + b",".join([b"1"] * 500_000) + b"]}}"

    started = time.perf_counter()
    response = await _post_raw(
        client, workspace, "PATCH", f"{CONTACTS}/{made.json()['data']['id']}", raw
    )

    assert response.status_code in (413, 422), response.text
    assert time.perf_counter() - started < 5


async def test_far_future_expiry_is_422(client: httpx.AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "scopes": ["crm:read"], "expiresAt": "9999-12-31T23:59:59-14:00"},
        headers=workspace.headers,
    )
    assert_error(response, 422, "VALIDATION_FAILED")


async def test_a_derived_name_fits_its_column(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        CONTACTS, json={"givenName": "g" * 150, "familyName": "f" * 150}, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["data"]["name"]) == 300


@pytest.mark.parametrize("spec", ["0/minute", "10/minute;20/hour", "lots"])
async def test_rate_limits_that_would_lock_a_workspace_out_are_refused(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, spec: str
) -> None:
    before = await snapshot(database)
    response = await client.patch(
        "/api/v1/workspace",
        json={"settings": {"rateLimits": {"write": spec}}},
        headers=workspace.headers,
    )
    assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_an_escaped_tenant_id_in_the_body_is_still_checked(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)
    raw = b'{"email": "a@example.com", "tenant\\u0049d": "%s"}' % str(other_workspace.id).encode()
    response = await client.post(
        CONTACTS, content=raw, headers={**workspace.headers, "Content-Type": "application/json"}
    )
    assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before


async def test_a_user_without_workspaces_is_403(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await WorkspaceService(session).add_user(workspace.id, "ada@example.com", "long password 1")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "long password 1"}
    )
    token = login.json()["data"]["token"]
    removed = await client.delete(f"/api/v1/api-keys/{workspace.key_id}", headers=workspace.headers)
    assert removed.status_code == 200
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        from sqlalchemy import delete

        from rapport.models import Membership

        await session.execute(delete(Membership))
    response = await client.get(CONTACTS, headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 403, "FORBIDDEN")


DEEP = b"[" * 1200
"""Deeper than Python's parser recurses: json.loads raises RecursionError on it."""
NOWHERE = "01900000-0000-7000-8000-000000000000"
BODY_ROUTES = [
    ("POST", CONTACTS),
    ("PATCH", f"{CONTACTS}/{NOWHERE}"),
    ("PUT", f"{CONTACTS}/{NOWHERE}/sync-status/hubspot"),
]
BODYLESS_ROUTES = [
    ("POST", f"/api/v1/jobs/{NOWHERE}/retry"),
    ("POST", f"/api/v1/webhooks/{NOWHERE}/rotate-secret"),
    ("POST", f"/api/v1/webhooks/{NOWHERE}/deliveries/{NOWHERE}/replay"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES + BODYLESS_ROUTES)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
@pytest.mark.parametrize("token", ["not-a-session-token", "ak_not_a_key"])
async def test_a_deep_body_with_a_bad_credential_is_refused_without_a_500(
    client: httpx.AsyncClient, method: str, path: str, content_type: str, token: str
) -> None:
    response = await client.request(
        method,
        path,
        content=DEEP,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    if content_type == "application/json" and (method, path) in BODY_ROUTES:
        # FastAPI parses a route's JSON body before any dependency runs.
        assert_error(response, 400, "INVALID_REQUEST")
    else:
        assert_error(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES + BODYLESS_ROUTES)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/x+json"])
async def test_a_deep_body_is_a_4xx_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    method: str,
    path: str,
    content_type: str,
) -> None:
    before = await snapshot(database)
    response = await client.request(
        method, path, content=DEEP, headers={**workspace.headers, "Content-Type": content_type}
    )
    if content_type != "text/plain":
        assert_error(response, 400, "INVALID_REQUEST")
    elif (method, path) in BODY_ROUTES:
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"][0]["field"] == "Content-Type"
    else:
        # A body-less route ignores a body that is not JSON: the record is simply not there.
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


def nested(levels: int) -> str:
    """A contact whose body nests `levels` arrays and objects deep (the body and `properties`
    are two of them)."""
    inner = levels - 2
    return '{"email": "deep@example.com", "properties": {"x": %s}}' % ("[" * inner + "]" * inner)


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 300, 900])
async def test_a_body_nested_deeper_than_the_limit_is_422_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, levels: int
) -> None:
    before = await snapshot(database)
    response = await client.post(
        CONTACTS,
        content=nested(levels),
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in error["message"]
    assert await snapshot(database) == before


async def test_a_body_nested_to_the_limit_is_stored(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        CONTACTS,
        content=nested(MAX_JSON_DEPTH),
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    value = response.json()["data"]["properties"]["x"]
    for _ in range(MAX_JSON_DEPTH - 3):
        value = value[0]
    assert value == []


@pytest.mark.parametrize(
    ("content_type", "status"), [("text/plain", 404), ("application/json", 403)]
)
async def test_a_body_names_the_workspace_only_when_sent_as_json(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    content_type: str,
    status: int,
) -> None:
    method, path = BODYLESS_ROUTES[0]
    response = await client.request(
        method,
        path,
        content=b'{"tenantId": "%s"}' % str(other_workspace.id).encode(),
        headers={**workspace.headers, "Content-Type": content_type},
    )
    assert response.status_code == status, response.text


def forged_cursor(field: str, value: Any, last_id: Any = NOWHERE) -> str:
    raw = json.dumps({"f": field, "d": True, "k": "v", "v": value, "i": last_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        (CONTACTS, forged_cursor("createdAt", 1, last_id=[])),
        (CONTACTS, forged_cursor("name", "a\x00b")),
        ("/api/v1/events", forged_cursor("sequence", 2**64 - 1)),
        ("/api/v1/events", forged_cursor("sequence", 2**63)),
        ("/api/v1/events", forged_cursor("sequence", True)),
    ],
)
async def test_a_forged_cursor_is_400(
    client: httpx.AsyncClient, workspace: Workspace, path: str, cursor: str
) -> None:
    response = await client.get(path, params={"cursor": cursor}, headers=workspace.headers)
    error = assert_error(response, 400, "INVALID_REQUEST")
    assert error["details"][0]["field"] == "cursor"
