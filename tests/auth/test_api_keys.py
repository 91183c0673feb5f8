"""The API key endpoints: create (secret shown once), list, get, revoke."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, snapshot

KEYS = "/api/v1/api-keys"
KEY_FIELDS = {
    "id",
    "name",
    "prefix",
    "scopes",
    "createdAt",
    "expiresAt",
    "revokedAt",
    "lastUsedAt",
    "createdByUserId",
}


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(
        KEYS, json={"name": "Zapier", "scopes": ["crm:read"], **body}, headers=headers
    )


async def test_create_shows_the_secret_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await create(client, workspace.headers, scopes=["crm:write", "crm:read"])
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == KEY_FIELDS | {"key"}
    assert response.headers["Location"] == f"{KEYS}/{data['id']}"
    assert data["name"] == "Zapier"
    assert data["scopes"] == ["crm:read", "crm:write"]
    assert data["revokedAt"] is None
    assert data["expiresAt"] is None
    assert data["lastUsedAt"] is None
    assert data["createdAt"].endswith("Z")
    secret = data["key"]
    assert secret.startswith("ak_")
    # 160 bits of randomness need at least 27 base64url characters after the prefix.
    assert len(secret) - len("ak_") >= 27
    assert data["prefix"] == secret[: len(data["prefix"])]
    assert len(data["prefix"]) < len(secret) // 2

    fetched = await client.get(response.headers["Location"], headers=workspace.headers)
    assert fetched.status_code == 200, fetched.text
    assert set(fetched.json()["data"]) == KEY_FIELDS
    assert secret not in fetched.text
    listed = await client.get(KEYS, headers=workspace.headers)
    assert secret not in listed.text


async def test_created_key_works_with_its_scopes(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = (await create(client, workspace.headers)).json()["data"]
    headers = {"Authorization": f"Bearer {created['key']}"}
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.json()["data"]["apiKeyId"] == created["id"]
    assert me.json()["data"]["scopes"] == ["crm:read"]
    assert (await client.get("/api/v1/contacts", headers=headers)).status_code == 200


async def test_secret_is_stored_only_hashed(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    secret = (await create(client, workspace.headers)).json()["data"]["key"]
    rows = (await snapshot(database))["api_keys"]
    assert len(rows) == 2
    for row in rows:
        for value in row:
            assert secret not in value
            assert secret[len("ak_") :] not in value


async def test_create_with_expiry(client: httpx.AsyncClient, workspace: Workspace) -> None:
    expires = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    response = await create(
        client, workspace.headers, expiresAt=expires.isoformat().replace("+00:00", "Z")
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["expiresAt"] == expires.isoformat().replace("+00:00", "Z")


async def test_list_is_paginated(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for n in range(3):
        assert (await create(client, workspace.headers, name=f"key {n}")).status_code == 201

    response = await client.get(KEYS, params={"take": 2}, headers=workspace.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) == 2
    assert all(set(item) == KEY_FIELDS for item in body["data"])
    meta = body["meta"]
    assert meta["total"] == 4
    assert meta["skip"] == 0
    assert meta["take"] == 2
    assert meta["page"] == 1
    assert meta["totalPages"] == 2
    assert meta["hasMore"] is True

    rest = await client.get(KEYS, params={"skip": 2, "take": 2}, headers=workspace.headers)
    assert rest.json()["meta"]["hasMore"] is False
    ids = {k["id"] for k in body["data"]} | {k["id"] for k in rest.json()["data"]}
    assert len(ids) == 4


async def test_list_shows_only_this_workspaces_keys(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    response = await client.get(KEYS, headers=workspace.headers)
    assert [k["id"] for k in response.json()["data"]] == [str(workspace.key_id)]


async def test_revoke_returns_the_revoked_key(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = (await create(client, workspace.headers)).json()["data"]
    response = await client.delete(f"{KEYS}/{created['id']}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == created["id"]
    assert data["revokedAt"] is not None
    assert data["revokedAt"].endswith("Z")
    assert "key" not in data

    again = await client.get(f"{KEYS}/{created['id']}", headers=workspace.headers)
    assert again.json()["data"]["revokedAt"] == data["revokedAt"]


async def test_key_cannot_grant_scopes_it_lacks(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    admin_only = await add_key(database, workspace, ["crm:admin"])
    before = await snapshot(database)

    response = await create(client, admin_only, scopes=["crm:admin", "crm:read"])

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:read" in error["message"]
    assert await snapshot(database) == before


async def test_key_may_grant_a_subset_of_its_scopes(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    limited = await add_key(database, workspace, ["crm:admin", "crm:read"])
    response = await create(client, limited, scopes=["crm:read"])
    assert response.status_code == 201, response.text


async def test_unknown_scope_is_422(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await create(client, workspace.headers, scopes=["crm:read", "crm:everything"])
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in error["details"]] == ["scopes"]
    assert "crm:everything" in error["details"][0]["message"]
    assert await snapshot(database) == before


async def test_empty_scopes_and_missing_name_are_422(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(KEYS, json={"scopes": []}, headers=workspace.headers)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert {d["field"] for d in error["details"]} == {"name", "scopes"}
    assert await snapshot(database) == before


async def test_expiry_in_the_past_is_422(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    response = await create(client, workspace.headers, expiresAt=past)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in error["details"]] == ["expiresAt"]
    assert await snapshot(database) == before


async def test_another_workspaces_key_is_404(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    url = f"{KEYS}/{other_workspace.key_id}"
    before = await snapshot(database)

    assert_error(await client.get(url, headers=workspace.headers), 404, "NOT_FOUND")
    assert_error(await client.delete(url, headers=workspace.headers), 404, "NOT_FOUND")

    assert await snapshot(database) == before
    still = await client.get("/api/v1/contacts", headers=other_workspace.headers)
    assert still.status_code == 200


async def test_unknown_and_malformed_key_ids(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    assert_error(
        await client.get(f"{KEYS}/{uuid.uuid4()}", headers=workspace.headers), 404, "NOT_FOUND"
    )
    assert_error(
        await client.get(f"{KEYS}/not-a-uuid", headers=workspace.headers), 400, "INVALID_ID"
    )


async def test_key_endpoints_need_admin_scope(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    responses = [
        await client.get(KEYS, headers=writer),
        await client.get(f"{KEYS}/{workspace.key_id}", headers=writer),
        await create(client, writer),
        await client.delete(f"{KEYS}/{workspace.key_id}", headers=writer),
    ]
    for response in responses:
        error = assert_error(response, 403, "FORBIDDEN")
        assert "crm:admin" in error["message"]
    assert await snapshot(database) == before


async def test_list_sorts_by_name(client: httpx.AsyncClient, workspace: Workspace) -> None:
    for name in ("beta", "alpha"):
        assert (await create(client, workspace.headers, name=name)).status_code == 201
    response = await client.get(
        KEYS, params={"sortBy": "name", "sortOrder": "asc"}, headers=workspace.headers
    )
    assert [k["name"] for k in response.json()["data"]] == ["alpha", "beta", "test"]
    assert_error(
        await client.get(KEYS, params={"sortBy": "keyHash"}, headers=workspace.headers),
        400,
        "INVALID_REQUEST",
    )


async def test_revoking_twice_keeps_the_first_revocation(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    created = (await create(client, workspace.headers)).json()["data"]
    url = f"{KEYS}/{created['id']}"
    first = await client.delete(url, headers=workspace.headers)
    before = await snapshot(database)
    second = await client.delete(url, headers=workspace.headers)
    assert second.status_code == 200, second.text
    assert second.json()["data"]["revokedAt"] == first.json()["data"]["revokedAt"]
    assert await snapshot(database) == before


async def test_a_key_revoking_itself_is_locked_out(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.delete(f"{KEYS}/{workspace.key_id}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    assert_error(await client.get(KEYS, headers=workspace.headers), 401, "UNAUTHENTICATED")
