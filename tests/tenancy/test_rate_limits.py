"""Rate limits: per credential and category, with headers on every response and per-workspace
overrides in the workspace settings."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from rapport.config import DEFAULT_RATE_LIMITS
from rapport.kit.db import Database
from rapport.models import MembershipRole
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, custom_client, snapshot

CONTACTS = "/api/v1/contacts"


def limits(**overrides: str) -> dict[str, str]:
    return {**DEFAULT_RATE_LIMITS, **overrides}


def rate(response: httpx.Response) -> tuple[int, int, int]:
    """(limit, remaining, reset) from the headers, checking they are all there."""
    headers = response.headers
    return (
        int(headers["X-RateLimit-Limit"]),
        int(headers["X-RateLimit-Remaining"]),
        int(headers["X-RateLimit-Reset"]),
    )


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["requestId"] == response.headers["X-Request-Id"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert rate(response)[1] == 0


async def test_authenticated_responses_carry_rate_limit_headers(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    responses = [
        await client.get(CONTACTS, headers=workspace.headers),
        await client.post(CONTACTS, json={"email": "a@example.com"}, headers=workspace.headers),
        await client.get(f"{CONTACTS}/nobody@example.com", headers=workspace.headers),
        await client.post(CONTACTS, json={"email": 42}, headers=workspace.headers),
        await client.get("/api/v1/workspace", headers=workspace.headers),
        await client.get("/api/v1/auth/me", headers=workspace.headers),
    ]
    assert [r.status_code for r in responses] == [200, 201, 404, 422, 200, 200]
    now = time.time()
    for response in responses:
        limit, remaining, reset = rate(response)
        assert 0 <= remaining < limit
        assert now - 1 <= reset <= now + 61


async def test_remaining_decrements_per_category(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    first = await client.get(CONTACTS, headers=workspace.headers)
    second = await client.get(CONTACTS, headers=workspace.headers)
    write = await client.post(CONTACTS, json={"email": "a@example.com"}, headers=workspace.headers)
    assert rate(first)[:2] == (1000, 999)
    assert rate(second)[:2] == (1000, 998)
    assert rate(write)[:2] == (100, 99)


async def test_read_limit_is_enforced_and_writes_have_their_own_budget(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    async with custom_client(database, tmp_path, rate_limits=limits(read="3/minute")) as http:
        allowed = [await http.get(CONTACTS, headers=workspace.headers) for _ in range(3)]
        refused = await http.get(CONTACTS, headers=workspace.headers)
        write = await http.post(
            CONTACTS, json={"email": "a@example.com"}, headers=workspace.headers
        )
        still_refused = await http.get(CONTACTS, headers=workspace.headers)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [rate(r)[:2] for r in allowed] == [(3, 2), (3, 1), (3, 0)]
    assert_rate_limited(refused)
    assert rate(refused)[0] == 3
    assert write.status_code == 201, write.text
    assert rate(write)[:2] == (100, 99)
    assert_rate_limited(still_refused)


async def test_each_key_has_its_own_budget(
    database: Database, workspace: Workspace, other_workspace: Workspace, tmp_path: Path
) -> None:
    second_key = await add_key(database, workspace, ["crm:read"])
    async with custom_client(database, tmp_path, rate_limits=limits(read="1/minute")) as http:
        assert (await http.get(CONTACTS, headers=workspace.headers)).status_code == 200
        assert_rate_limited(await http.get(CONTACTS, headers=workspace.headers))
        assert (await http.get(CONTACTS, headers=second_key)).status_code == 200
        assert (await http.get(CONTACTS, headers=other_workspace.headers)).status_code == 200


async def test_rate_limited_write_changes_nothing(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    async with custom_client(database, tmp_path, rate_limits=limits(write="1/minute")) as http:
        first = await http.post(
            CONTACTS, json={"email": "a@example.com"}, headers=workspace.headers
        )
        assert first.status_code == 201, first.text
        before = await snapshot(database)
        refused = await http.post(
            CONTACTS, json={"email": "b@example.com"}, headers=workspace.headers
        )
    assert_rate_limited(refused)
    assert await snapshot(database) == before


async def test_users_are_rate_limited_too(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await WorkspaceService(session).add_user(
            workspace.id, "ada@example.com", "correct horse battery", role=MembershipRole.VIEWER
        )
    async with custom_client(database, tmp_path, rate_limits=limits(read="2/minute")) as http:
        login = await http.post(
            "/api/v1/auth/login",
            json={"email": "ada@example.com", "password": "correct horse battery"},
        )
        headers = {"Authorization": f"Bearer {login.json()['data']['token']}"}
        responses = [await http.get(CONTACTS, headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert [rate(r)[:2] for r in responses[:2]] == [(2, 1), (2, 0)]
    assert_rate_limited(responses[2])


async def test_workspace_override_applies(
    database: Database, workspace: Workspace, other_workspace: Workspace, tmp_path: Path
) -> None:
    async with custom_client(database, tmp_path, api_key_cache_seconds=0) as http:
        patched = await http.patch(
            "/api/v1/workspace",
            json={"settings": {"rateLimits": {"read": "2/minute"}}},
            headers=workspace.headers,
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["data"]["settings"]["rateLimits"] == {"read": "2/minute"}

        reads = [await http.get(CONTACTS, headers=workspace.headers) for _ in range(3)]
        write = await http.post(
            CONTACTS, json={"email": "a@example.com"}, headers=workspace.headers
        )
        other = await http.get(CONTACTS, headers=other_workspace.headers)

    assert [rate(r)[:2] for r in reads[:2]] == [(2, 1), (2, 0)]
    assert_rate_limited(reads[2])
    assert rate(write)[0] == 100
    assert rate(other)[:2] == (1000, 999)


async def test_workspace_override_can_raise_the_limit(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    async with custom_client(
        database, tmp_path, api_key_cache_seconds=0, rate_limits=limits(read="1/minute")
    ) as http:
        patched = await http.patch(
            "/api/v1/workspace",
            json={"settings": {"rateLimits": {"read": "5/minute"}}},
            headers=workspace.headers,
        )
        assert patched.status_code == 200, patched.text
        reads = [await http.get(CONTACTS, headers=workspace.headers) for _ in range(3)]
    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [rate(r)[:2] for r in reads] == [(5, 4), (5, 3), (5, 2)]


async def test_refused_authenticated_requests_carry_rate_limit_headers(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    """API.md: every response carries the headers; a known key refused for a missing scope or
    another workspace is still an authenticated caller with a budget."""
    reader = await add_key(database, workspace, ["crm:read"])
    missing_scope = await client.post(CONTACTS, json={"email": "a@example.com"}, headers=reader)
    wrong_tenant = await client.get(
        CONTACTS, params={"tenantId": str(other_workspace.id)}, headers=workspace.headers
    )
    for response in (missing_scope, wrong_tenant):
        assert response.status_code == 403, response.text
        limit, remaining, _reset = rate(response)
        assert 0 <= remaining < limit


async def test_a_request_counts_once_whatever_its_dependencies(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """`/auth/me` asks for the credential and for an access context: both authenticate, the
    request is counted once (as is a request with one of them)."""
    first = await client.get("/api/v1/auth/me", headers=workspace.headers)
    second = await client.get("/api/v1/auth/me", headers=workspace.headers)
    third = await client.get(CONTACTS, headers=workspace.headers)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert rate(first)[1] - rate(second)[1] == 1
    assert rate(second)[1] - rate(third)[1] == 1
