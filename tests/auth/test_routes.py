"""Authentication: refused credentials, API key lifetime, who am I, user log-in and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from rapport.auth.credentials import issue_session_token
from rapport.auth.scopes import ALL_SCOPES
from rapport.auth.service import ApiKeyService
from rapport.config import DEFAULT_RATE_LIMITS
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models import ApiKey, MembershipRole, User
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, TEST_SECRET, Workspace, add_key, custom_client, snapshot

PASSWORD = "correct horse battery"
CONTACTS = "/api/v1/contacts"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "UNAUTHENTICATED"
    assert error["message"]
    assert error["requestId"] == response.headers["X-Request-Id"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "data" not in response.json()


async def create_key(
    database: Database,
    tenant_id: uuid.UUID,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[uuid.UUID, dict[str, str]]:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        key, secret = await ApiKeyService(Context.bound(session, tenant_id)).create(
            "k", scopes, expires_at
        )
    return key.id, bearer(secret)


async def add_user(
    database: Database,
    tenant_id: uuid.UUID,
    email: str,
    role: MembershipRole = MembershipRole.MEMBER,
) -> uuid.UUID:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        user = await WorkspaceService(session).add_user(tenant_id, email, PASSWORD, role=role)
    return user.id


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["token"]
    return token


def session(token: str, tenant_id: uuid.UUID | None = None, header: str = "X-Tenant-Id") -> dict:
    headers = bearer(token)
    if tenant_id is not None:
        headers[header] = str(tenant_id)
    return headers


# --- refused credentials -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token ak_something"},
        {"Authorization": "ak_without_scheme"},
    ],
    ids=["none", "empty", "bearer-without-token", "basic", "other-scheme", "no-scheme"],
)
async def test_missing_or_malformed_authorization_is_401(
    client: httpx.AsyncClient, workspace: Workspace, headers: dict[str, str]
) -> None:
    assert_unauthenticated(await client.get(CONTACTS, headers=headers))


async def test_unknown_api_key_is_401(client: httpx.AsyncClient, workspace: Workspace) -> None:
    response = await client.get(CONTACTS, headers=bearer("ak_" + "A" * 43))
    assert_unauthenticated(response)


async def test_api_key_with_one_character_changed_is_401(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    tampered = workspace.key[:-1] + ("A" if workspace.key[-1] != "A" else "B")
    assert_unauthenticated(await client.get(CONTACTS, headers=bearer(tampered)))


@pytest.mark.parametrize("token", ["garbage", "not.a.jwt", "eyJhbGciOiJIUzI1NiJ9.e30.xx"])
async def test_garbage_session_token_is_401(
    client: httpx.AsyncClient, workspace: Workspace, token: str
) -> None:
    response = await client.get(CONTACTS, headers=session(token, workspace.id))
    assert_unauthenticated(response)


async def test_expired_session_token_is_401(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    user_id = await add_user(database, workspace.id, "ada@example.com")
    token, _ = issue_session_token(user_id, TEST_SECRET, ttl_seconds=-10)
    response = await client.get(CONTACTS, headers=session(token, workspace.id))
    assert_unauthenticated(response)
    assert "expired" in response.json()["error"]["message"].lower()


async def test_session_token_signed_with_another_secret_is_401(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    user_id = await add_user(database, workspace.id, "ada@example.com")
    token, _ = issue_session_token(user_id, "another-secret-" + "y" * 40, ttl_seconds=600)
    assert_unauthenticated(await client.get(CONTACTS, headers=session(token, workspace.id)))


async def test_session_of_a_disabled_user_is_401(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    user_id = await add_user(database, workspace.id, "ada@example.com")
    token = await login(client, "ada@example.com")
    async with database.transaction(platform=EVERY_WORKSPACE) as db:
        await db.execute(update(User).where(User.id == user_id).values(is_active=False))
    assert_unauthenticated(await client.get(CONTACTS, headers=session(token, workspace.id)))


async def test_refused_write_without_credentials_changes_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(CONTACTS, json={"email": "alice@example.com"})
    assert_unauthenticated(response)
    assert await snapshot(database) == before


# --- API key lifetime ------------------------------------------------------------------------


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    key_id, headers = await create_key(database, workspace.id, ["crm:read"])
    assert (await client.get(CONTACTS, headers=headers)).status_code == 200

    revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=workspace.headers)
    assert revoked.status_code == 200, revoked.text

    response = await client.get(CONTACTS, headers=headers)
    assert_unauthenticated(response)
    assert "revoked" in response.json()["error"]["message"].lower()


async def test_key_past_its_expiry_is_401(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    soon = utcnow() + timedelta(hours=1)
    key_id, headers = await create_key(database, workspace.id, ["crm:read"], expires_at=soon)
    async with database.transaction(platform=EVERY_WORKSPACE) as db:
        past = utcnow() - timedelta(seconds=1)
        await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(expires_at=past))

    response = await client.get(CONTACTS, headers=headers)
    assert_unauthenticated(response)
    assert "expired" in response.json()["error"]["message"].lower()


async def test_key_expiring_while_in_use_stops_working(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    soon = utcnow() + timedelta(hours=1)
    key_id, headers = await create_key(database, workspace.id, ["crm:read"], expires_at=soon)
    async with custom_client(database, tmp_path, api_key_cache_seconds=0) as http:
        assert (await http.get(CONTACTS, headers=headers)).status_code == 200
        async with database.transaction(platform=EVERY_WORKSPACE) as db:
            past = utcnow() - timedelta(seconds=1)
            await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(expires_at=past))
        assert_unauthenticated(await http.get(CONTACTS, headers=headers))


async def test_last_used_at_is_set_after_use(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    key_id, headers = await create_key(database, workspace.id, ["crm:read"])
    url = f"/api/v1/api-keys/{key_id}"
    assert (await client.get(url, headers=workspace.headers)).json()["data"]["lastUsedAt"] is None

    started = utcnow()
    assert (await client.get(CONTACTS, headers=headers)).status_code == 200

    last_used = (await client.get(url, headers=workspace.headers)).json()["data"]["lastUsedAt"]
    assert last_used is not None
    used_at = datetime.fromisoformat(last_used.replace("Z", "+00:00"))
    assert started - timedelta(seconds=2) <= used_at <= utcnow() + timedelta(seconds=2)


# --- who am I ----------------------------------------------------------------------------------


async def test_me_with_an_api_key(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    key_id, headers = await create_key(database, workspace.id, ["crm:write", "crm:read"])
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "tenantId": str(workspace.id),
            "kind": "api_key",
            "apiKeyId": str(key_id),
            "userId": None,
            "scopes": ["crm:read", "crm:write"],
        }
    }


async def test_me_with_a_session(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    user_id = await add_user(database, workspace.id, "ada@example.com", MembershipRole.VIEWER)
    token = await login(client, "ada@example.com")
    response = await client.get("/api/v1/auth/me", headers=session(token, workspace.id))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "tenantId": str(workspace.id),
            "kind": "user",
            "apiKeyId": None,
            "userId": str(user_id),
            "scopes": ["crm:analytics", "crm:read"],
        }
    }


# --- log in ------------------------------------------------------------------------------------


async def test_login_returns_a_session(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    user_id = await add_user(database, workspace.id, "ada@example.com", MembershipRole.ADMIN)
    started = utcnow()
    response = await client.post(
        "/api/v1/auth/login", json={"email": "Ada@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"token", "tokenType", "expiresAt", "user", "workspaces"}
    assert data["tokenType"] == "Bearer"
    assert data["token"].count(".") == 2
    assert data["expiresAt"].endswith("Z")
    expires = datetime.fromisoformat(data["expiresAt"].replace("Z", "+00:00"))
    assert started + timedelta(seconds=3590) <= expires <= utcnow() + timedelta(seconds=3610)
    assert data["user"] == {"id": str(user_id), "email": "ada@example.com", "name": None}
    assert data["workspaces"] == [{"id": str(workspace.id), "name": "Acme", "role": "admin"}]
    assert "passwordHash" not in response.text


async def test_login_lists_every_membership(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    await add_user(database, workspace.id, "ada@example.com", MembershipRole.ADMIN)
    await add_user(database, other_workspace.id, "ada@example.com", MembershipRole.VIEWER)
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    workspaces = sorted(response.json()["data"]["workspaces"], key=lambda w: w["name"])
    assert workspaces == [
        {"id": str(workspace.id), "name": "Acme", "role": "admin"},
        {"id": str(other_workspace.id), "name": "Globex", "role": "viewer"},
    ]


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await add_user(database, workspace.id, "ada@example.com")
    before = await snapshot(database)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert_unauthenticated(wrong)
    assert_unauthenticated(unknown)
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert await snapshot(database) == before


async def test_login_with_missing_password_is_422(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": "ada@example.com"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in error["details"]] == ["password"]


async def test_login_is_rate_limited(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    limits = {**DEFAULT_RATE_LIMITS, "auth": "2/minute"}
    body = {"email": "nobody@example.com", "password": "guess number n"}
    async with custom_client(database, tmp_path, rate_limits=limits) as http:
        for _ in range(2):
            assert (await http.post("/api/v1/auth/login", json=body)).status_code == 401
        response = await http.post("/api/v1/auth/login", json=body)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) >= 1


# --- sessions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-Tenant-Id", "x-entity-id"])
async def test_user_session_reads_contacts_of_its_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, header: str
) -> None:
    created = await client.post(
        CONTACTS, json={"email": "alice@example.com"}, headers=workspace.headers
    )
    assert created.status_code == 201, created.text
    await add_user(database, workspace.id, "ada@example.com", MembershipRole.VIEWER)
    token = await login(client, "ada@example.com")

    response = await client.get(CONTACTS, headers=session(token, workspace.id, header))
    assert response.status_code == 200, response.text
    assert [c["email"] for c in response.json()["data"]] == ["alice@example.com"]


async def test_session_naming_a_workspace_the_user_is_not_in_is_403(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    await add_user(database, workspace.id, "ada@example.com", MembershipRole.ADMIN)
    token = await login(client, "ada@example.com")
    headers = session(token, other_workspace.id)
    before = await snapshot(database)

    read = await client.get(CONTACTS, headers=headers)
    write = await client.post(CONTACTS, json={"email": "eve@example.com"}, headers=headers)

    for response in (read, write):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "FORBIDDEN"
    assert await snapshot(database) == before


async def test_single_membership_needs_no_tenant_header(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await add_user(database, workspace.id, "ada@example.com", MembershipRole.MEMBER)
    token = await login(client, "ada@example.com")
    response = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["tenantId"] == str(workspace.id)


async def test_two_memberships_without_tenant_header_is_400(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    await add_user(database, workspace.id, "ada@example.com")
    await add_user(database, other_workspace.id, "ada@example.com")
    token = await login(client, "ada@example.com")
    before = await snapshot(database)

    response = await client.post(CONTACTS, json={"email": "x@example.com"}, headers=bearer(token))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert await snapshot(database) == before

    chosen = await client.get("/api/v1/auth/me", headers=session(token, other_workspace.id))
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["data"]["tenantId"] == str(other_workspace.id)


async def test_viewer_cannot_write(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await add_user(database, workspace.id, "vic@example.com", MembershipRole.VIEWER)
    headers = session(await login(client, "vic@example.com"), workspace.id)
    before = await snapshot(database)

    response = await client.post(CONTACTS, json={"email": "x@example.com"}, headers=headers)

    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before


async def test_member_writes_but_cannot_manage_keys(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await add_user(database, workspace.id, "meg@example.com", MembershipRole.MEMBER)
    headers = session(await login(client, "meg@example.com"), workspace.id)

    created = await client.post(CONTACTS, json={"email": "x@example.com"}, headers=headers)
    assert created.status_code == 201, created.text

    before = await snapshot(database)
    listed = await client.get("/api/v1/api-keys", headers=headers)
    new_key = await client.post(
        "/api/v1/api-keys", json={"name": "mine", "scopes": ["crm:read"]}, headers=headers
    )
    for response in (listed, new_key):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "FORBIDDEN"
        assert "crm:admin" in response.json()["error"]["message"]
    assert await snapshot(database) == before


async def test_admin_manages_keys_and_is_recorded_as_creator(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    user_id = await add_user(database, workspace.id, "adm@example.com", MembershipRole.ADMIN)
    headers = session(await login(client, "adm@example.com"), workspace.id)

    listed = await client.get("/api/v1/api-keys", headers=headers)
    assert listed.status_code == 200, listed.text
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "integration", "scopes": sorted(ALL_SCOPES)},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["createdByUserId"] == str(user_id)


async def test_credentials_see_only_their_own_workspace(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    for ws, email in ((workspace, "a@example.com"), (other_workspace, "g@example.com")):
        response = await client.post(CONTACTS, json={"email": email}, headers=ws.headers)
        assert response.status_code == 201, response.text
    await add_user(database, other_workspace.id, "ada@example.com", MembershipRole.VIEWER)
    headers = session(await login(client, "ada@example.com"), other_workspace.id)
    response = await client.get(CONTACTS, headers=headers)
    assert [c["email"] for c in response.json()["data"]] == ["g@example.com"]
    extra = await add_key(database, workspace, ["crm:read"])
    response = await client.get(CONTACTS, headers=extra)
    assert [c["email"] for c in response.json()["data"]] == ["a@example.com"]
