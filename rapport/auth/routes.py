"""HTTP routes: log in, who am I, and API key management."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

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


@router.post(
    "/auth/login",
    summary="Exchange email and password for a session token (JWT)",
    responses=documented_errors({401: "Wrong email or password (UNAUTHENTICATED)"}),
)
async def login(body: LoginRequest, request: Request, db: DbSession) -> Envelope[SessionOut]:
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
    key, secret = await keys.create(body.name, body.scopes, body.expires_at)
    response.headers["Location"] = f"/api/v1/api-keys/{key.id}"
    out = ApiKeyOut.model_validate(key)
    return Envelope(data=ApiKeyCreated(**out.model_dump(), key=secret))


@router.get("/api-keys/{key_id}", tags=["API keys"], summary="One API key (without its secret)")
async def get_api_key(key_id: uuid.UUID, keys: ApiKeys) -> Envelope[ApiKeyOut]:
    return Envelope(data=ApiKeyOut.model_validate(await keys.get(key_id)))


@router.delete(
    "/api-keys/{key_id}",
    tags=["API keys"],
    summary="Revoke an API key; it stops working at once",
)
async def revoke_api_key(key_id: uuid.UUID, request: Request, keys: ApiKeys) -> Envelope[ApiKeyOut]:
    key = await keys.revoke(key_id)
    cache: KeyCache = request.app.state.key_cache
    after_commit(request, lambda: cache.forget(key_id=key.id))
    return Envelope(data=ApiKeyOut.model_validate(key))
