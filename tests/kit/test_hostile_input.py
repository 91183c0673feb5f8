"""Input no column or number type can hold is refused with a 4xx, never a 500."""

from __future__ import annotations

import httpx
import pytest

from rapport.kit.db import Database
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
