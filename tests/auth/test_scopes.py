"""Scopes and tenant matching: a key acts only inside its own workspace and within its scopes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, snapshot

CONTACTS = "/api/v1/contacts"


def naming(location: str, tenant: str, headers: dict[str, str]) -> dict[str, Any]:
    """httpx arguments naming `tenant` as the workspace in `location` (query, header or body)."""
    kind, name = location.split(":")
    if kind == "query":
        return {"params": {name: tenant}, "headers": headers}
    if kind == "header":
        return {"headers": {**headers, name: tenant}}
    return {"headers": headers, "body_field": name}


async def post_contact(
    client: httpx.AsyncClient, location: str, tenant: str, headers: dict[str, str], email: str
) -> httpx.Response:
    args = naming(location, tenant, headers)
    body: dict[str, Any] = {"email": email}
    if "body_field" in args:
        body[args.pop("body_field")] = tenant
    return await client.post(CONTACTS, json=body, **args)


LOCATIONS = [
    "query:tenantId",
    "query:entityId",
    "header:X-Tenant-Id",
    "header:x-entity-id",
    "body:tenantId",
    "body:entityId",
]
READ_LOCATIONS = [loc for loc in LOCATIONS if not loc.startswith("body")]


# --- tenant matching ---------------------------------------------------------------------------


@pytest.mark.parametrize("location", LOCATIONS)
async def test_naming_the_keys_own_workspace_is_accepted(
    client: httpx.AsyncClient, workspace: Workspace, location: str
) -> None:
    response = await post_contact(
        client, location, str(workspace.id), workspace.headers, "alice@example.com"
    )
    assert response.status_code == 201, response.text
    contact = response.json()["data"]
    assert contact["email"] == "alice@example.com"
    assert "tenantId" not in contact["properties"]
    assert "entityId" not in contact["properties"]

    listed = await client.get(CONTACTS, headers=workspace.headers)
    assert [c["id"] for c in listed.json()["data"]] == [contact["id"]]


@pytest.mark.parametrize("location", READ_LOCATIONS)
async def test_reading_with_own_workspace_named_is_accepted(
    client: httpx.AsyncClient, workspace: Workspace, location: str
) -> None:
    response = await client.get(CONTACTS, **naming(location, str(workspace.id), workspace.headers))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("location", LOCATIONS)
async def test_naming_another_workspace_is_403_and_changes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    location: str,
) -> None:
    before = await snapshot(database)
    response = await post_contact(
        client, location, str(other_workspace.id), workspace.headers, "eve@example.com"
    )
    assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before


@pytest.mark.parametrize("location", READ_LOCATIONS)
async def test_reading_another_workspace_is_403(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    location: str,
) -> None:
    created = await client.post(
        CONTACTS, json={"email": "secret@globex.com"}, headers=other_workspace.headers
    )
    assert created.status_code == 201
    response = await client.get(
        CONTACTS, **naming(location, str(other_workspace.id), workspace.headers)
    )
    assert_error(response, 403, "FORBIDDEN")
    assert "secret@globex.com" not in response.text


async def test_naming_a_workspace_that_does_not_exist_is_403(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await post_contact(
        client, "header:X-Tenant-Id", str(uuid.uuid4()), workspace.headers, "x@example.com"
    )
    assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before


async def test_another_workspace_named_on_update_and_delete_is_403(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    created = await client.post(
        CONTACTS, json={"email": "alice@example.com"}, headers=workspace.headers
    )
    url = f"{CONTACTS}/{created.json()['data']['id']}"
    before = await snapshot(database)

    patched = await client.patch(
        url, json={"name": "Eve", "tenantId": str(other_workspace.id)}, headers=workspace.headers
    )
    deleted = await client.delete(
        url, params={"entityId": str(other_workspace.id)}, headers=workspace.headers
    )

    assert_error(patched, 403, "FORBIDDEN")
    assert_error(deleted, 403, "FORBIDDEN")
    assert await snapshot(database) == before


@pytest.mark.parametrize("location", LOCATIONS)
async def test_non_uuid_workspace_id_is_400(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, location: str
) -> None:
    before = await snapshot(database)
    response = await post_contact(
        client, location, "acme-corp", workspace.headers, "alice@example.com"
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in {"INVALID_REQUEST", "INVALID_ID"}
    assert await snapshot(database) == before


# --- scopes ------------------------------------------------------------------------------------


async def test_read_key_cannot_write_contacts(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    response = await client.post(CONTACTS, json={"email": "x@example.com"}, headers=reader)
    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before


async def test_write_key_cannot_list_api_keys(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    writer = await add_key(database, workspace, ["crm:write"])
    error = assert_error(await client.get("/api/v1/api-keys", headers=writer), 403, "FORBIDDEN")
    assert "crm:admin" in error["message"]
    assert "crm:admin" in str(error["details"])


async def test_write_only_key_cannot_read_contacts(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    writer = await add_key(database, workspace, ["crm:write"])
    error = assert_error(await client.get(CONTACTS, headers=writer), 403, "FORBIDDEN")
    assert "crm:read" in error["message"]


async def test_key_without_read_scope_cannot_see_the_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    analytics = await add_key(database, workspace, ["crm:analytics"])
    response = await client.get("/api/v1/workspace", headers=analytics)
    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:read" in error["message"]
    assert "Acme" not in response.text


async def test_me_needs_no_particular_scope(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    ai_only = await add_key(database, workspace, ["crm:ai"])
    response = await client.get("/api/v1/auth/me", headers=ai_only)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["scopes"] == ["crm:ai"]


async def test_key_with_the_scope_is_allowed(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    response = await client.post(CONTACTS, json={"email": "x@example.com"}, headers=writer)
    assert response.status_code == 201, response.text
