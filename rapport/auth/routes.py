"""HTTP routes: log in, who am I, and API key management."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request, Response

from rapport.auth.dependencies import Caller, KeyCache, access, count_anonymous
from rapport.auth.deps import ApiKeys
from rapport.auth.repository import ApiKeyRepository
from rapport.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginRequest,
    SessionOut,
    UserOut,
    WhoAmI,
    WorkspaceMembershipOut,
)
from rapport.auth.service import LoginService
from rapport.config import Settings
from rapport.kit.context import Context
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.query import refuse_unknown_query
from rapport.kit.session import DbSession, after_commit, api_router

router = api_router(tags=["Auth"])

ApiKeyId = Annotated[uuid.UUID, Path(description="The API key's id (not its secret)")]


@router.post(
    "/auth/login",
    summary="Exchange email and password for a session token (JWT)",
    responses=documented_errors(
        {
            401: "Wrong email or password (UNAUTHENTICATED)",
            429: "Too many attempts from this address (RATE_LIMITED)",
        }
    ),
)
async def login(body: LoginRequest, request: Request, db: DbSession) -> Envelope[SessionOut]:
    """Check a user's email and password and return a session token (a JWT) that expires at
    `expiresAt`, with the workspaces the user belongs to and the role in each. No credentials
    are needed; attempts are rate-limited per client address. The email is compared without
    regard to case; a wrong email, a wrong password and a disabled user all answer the same
    401. Send the token as `Authorization: Bearer <token>`, with `X-Tenant-Id` naming the
    workspace when the user belongs to more than one; the token's scopes are those of the
    user's role in that workspace."""
    await count_anonymous(request, "auth")
    refuse_unknown_query(request)
    settings: Settings = request.app.state.settings
    service = LoginService(db, settings.resolved_secret_key(), settings.jwt_ttl_seconds)
    token, expires, user, memberships = await service.login(body.email, body.password)
    return Envelope(
        data=SessionOut(
            token=token,
            expires_at=expires,
            user=UserOut.model_validate(user),
            workspaces=[
                WorkspaceMembershipOut(id=t.id, name=t.name, role=m.role.value)
                for m, t in memberships
            ],
        )
    )


@router.get("/auth/me", summary="The credential making this request")
async def who_am_i(principal: Caller, _access: Annotated[Context, access()]) -> Envelope[WhoAmI]:
    """Describe the credential that authenticates this request: its workspace, whether it is
    an API key or a user's session token, the key or user id, and the scopes it holds. Any
    valid credential may call it; no scope is required. Use it to check a key before
    configuring an integration."""
    return Envelope(
        data=WhoAmI(
            tenant_id=principal.tenant_id,
            kind=principal.kind,
            api_key_id=principal.api_key_id,
            user_id=principal.user_id,
            scopes=sorted(principal.scopes),
        )
    )


@router.get("/api-keys", tags=["API keys"], summary="List the workspace's API keys")
async def list_api_keys(
    keys: ApiKeys,
    page: Annotated[PageRequest, Depends(Pagination(ApiKeyRepository.sort_columns))],
) -> ListEnvelope[ApiKeyOut]:
    """List every API key of the workspace, revoked and expired ones included (see
    `revokedAt` and `expiresAt`). Secrets are never returned; `prefix` shows the first
    characters of each key so it can be recognised. Requires the `crm:admin` scope."""
    rows, meta = await keys.list(page)
    return ListEnvelope(data=[ApiKeyOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "/api-keys",
    status_code=201,
    tags=["API keys"],
    summary="Create an API key; the secret is in the response, once",
)
async def create_api_key(
    body: ApiKeyCreate, keys: ApiKeys, response: Response
) -> Envelope[ApiKeyCreated]:
    """Create an API key for the workspace. The secret is in `key` in this response only;
    it is stored hashed and cannot be shown again. Requires the `crm:admin` scope, and a key
    cannot grant a scope its creator does not hold (403). When the caller is itself an
    expiring API key, the new key expires no later than it, even when `expiresAt` is left
    out. An unknown scope or an `expiresAt` in the past is refused with 422."""
    key, secret = await keys.create(body.name, body.scopes, body.expires_at)
    response.headers["Location"] = f"/api/v1/api-keys/{key.id}"
    out = ApiKeyOut.model_validate(key)
    return Envelope(data=ApiKeyCreated(**out.model_dump(), key=secret))


@router.get("/api-keys/{key_id}", tags=["API keys"], summary="One API key (without its secret)")
async def get_api_key(key_id: ApiKeyId, keys: ApiKeys) -> Envelope[ApiKeyOut]:
    """One API key of the workspace, revoked or not, without its secret. Requires the
    `crm:admin` scope; 404 if the workspace has no key with this id."""
    return Envelope(data=ApiKeyOut.model_validate(await keys.get(key_id)))


@router.delete(
    "/api-keys/{key_id}",
    tags=["API keys"],
    summary="Revoke an API key; it stops working at once",
)
async def revoke_api_key(key_id: ApiKeyId, request: Request, keys: ApiKeys) -> Envelope[ApiKeyOut]:
    """Revoke an API key: requests made with it are refused with 401 from then on (other
    server processes may still accept it for a few seconds while their key cache expires).
    The key stays listed with `revokedAt` set; revoking it again changes nothing and returns
    it as it is. Revocation cannot be undone. Requires the `crm:admin` scope."""
    key = await keys.revoke(key_id)
    cache: KeyCache = request.app.state.key_cache
    after_commit(request, lambda: cache.forget(key_id=key.id))
    return Envelope(data=ApiKeyOut.model_validate(key))
