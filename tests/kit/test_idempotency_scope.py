"""Idempotency records belong to a caller and a workspace, are written with the request's work,
and never keep a secret."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from rapport.kit.db import Database
from rapport.models import Contact, IdempotencyRecord
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, Workspace, assert_error

CONTACTS = "/api/v1/contacts"


async def records(database: Database) -> list[IdempotencyRecord]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return list((await session.execute(select(IdempotencyRecord))).scalars())


async def contacts(database: Database) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)


async def test_a_revoked_key_gets_401_not_the_replay(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "k1"}
    first = await client.post(CONTACTS, json={"email": "a@example.com"}, headers=headers)
    assert first.status_code == 201
    revoke = await client.delete(f"/api/v1/api-keys/{workspace.key_id}", headers=workspace.headers)
    assert revoke.status_code == 200
    again = await client.post(CONTACTS, json={"email": "a@example.com"}, headers=headers)
    assert_error(again, 401, "UNAUTHENTICATED")


async def test_unauthenticated_requests_leave_no_record(
    client: httpx.AsyncClient, database: Database
) -> None:
    response = await client.post(
        CONTACTS,
        json={"email": "a@example.com"},
        headers={"Authorization": "Bearer junk", "Idempotency-Key": "k1"},
    )
    assert_error(response, 401, "UNAUTHENTICATED")
    assert await records(database) == []


async def test_one_user_in_two_workspaces_has_separate_keys(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        service = WorkspaceService(session)
        await service.add_user(workspace.id, "ada@example.com", "correct horse battery")
        await service.add_user(other_workspace.id, "ada@example.com", "correct horse battery")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    token = login.json()["data"]["token"]
    bodies = []
    for ws in (workspace, other_workspace):
        response = await client.post(
            CONTACTS,
            json={"email": "same@example.com"},
            headers={
                "Authorization": f"Bearer {token}",
                "X-Tenant-Id": str(ws.id),
                "Idempotency-Key": "same-key",
            },
        )
        assert response.status_code == 201, response.text
        assert "Idempotent-Replayed" not in response.headers
        bodies.append(response.json()["data"])
    assert bodies[0]["id"] != bodies[1]["id"]
    assert await contacts(database) == 2


async def test_a_new_api_key_is_not_kept_for_replay(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "new-key"}
    body = {"name": "Zapier", "scopes": ["crm:read"]}
    first = await client.post("/api/v1/api-keys", json=body, headers=headers)
    secret = first.json()["data"]["key"]
    assert secret.startswith("ak_")
    replay = await client.post("/api/v1/api-keys", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["data"]["key"] == "[shown once]"
    assert replay.json()["data"]["id"] == first.json()["data"]["id"]
    assert all(secret.encode() not in r.response_body for r in await records(database))


async def test_concurrent_twins_run_once(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "twin"}
    responses = await asyncio.gather(
        *(client.post(CONTACTS, json={"email": "t@example.com"}, headers=headers) for _ in range(4))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert await contacts(database) == 1
    assert len(await records(database)) == 1


async def test_an_unexpected_error_is_500_with_the_request_id(
    fresh_app: FastAPI, workspace: Workspace
) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    fresh_app.add_api_route("/explode", explode)
    transport = httpx.ASGITransport(app=fresh_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/explode", headers={"X-Request-Id": "trace-me"})
    error = assert_error(response, 500, "INTERNAL")
    assert error["requestId"] == "trace-me"
