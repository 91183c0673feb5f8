"""The Authenticator: the one dependency that authenticates, picks the workspace, checks scopes
and applies rate limits. Every protected route declares it with the scopes it needs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from fastapi import Request
from fastapi.routing import APIRoute

from rapport.auth.credentials import (
    API_KEY_PREFIX,
    InvalidToken,
    hash_api_key,
    read_session_token,
)
from rapport.auth.principal import Principal
from rapport.auth.repository import CredentialRepository, KeyRecord
from rapport.auth.scopes import ROLE_SCOPES, Scope
from rapport.config import Settings
from rapport.kit import idempotency
from rapport.kit.clock import utcnow
from rapport.kit.errors import (
    ErrorDetail,
    Forbidden,
    InvalidRequest,
    Unauthenticated,
)
from rapport.kit.ratelimit import RateLimiter
from rapport.kit.requestctx import set_tenant_id
from rapport.kit.session import DbSession
from rapport.models.tenancy import MembershipRole

TENANT_HEADERS = ("X-Tenant-Id", "x-entity-id")
TENANT_PARAMS = ("tenantId", "entityId")
_TOUCH_EVERY = timedelta(seconds=60)
_CACHE_MAX = 10_000


@dataclass
class _CachedKey:
    record: KeyRecord | None
    fetched: float


class KeyCache:
    """Recently seen API keys, so a hot key costs no query; revocation is seen within `ttl` seconds
    by other processes and at once by the process that revoked it."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, _CachedKey] = {}

    def get(self, key_hash: str) -> _CachedKey | None:
        item = self._items.get(key_hash)
        if item is None or time.monotonic() - item.fetched > self.ttl:
            return None
        return item

    def put(self, key_hash: str, record: KeyRecord | None) -> None:
        if len(self._items) >= _CACHE_MAX:
            self._items.clear()
        self._items[key_hash] = _CachedKey(record, time.monotonic())

    def forget(
        self, *, key_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None
    ) -> None:
        """Drop one key, or every key of a workspace (its settings changed)."""
        for key_hash, item in list(self._items.items()):
            record = item.record
            if record is not None and (record.id == key_id or record.tenant_id == tenant_id):
                del self._items[key_hash]


def _workspace_id(field: str, value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidRequest(
            f"{field} must be a workspace id",
            details=[ErrorDetail(field=field, message="Not a UUID")],
        ) from exc


async def named_workspace(request: Request) -> uuid.UUID | None:
    """The workspace the request names, if any: `X-Tenant-Id` / `x-entity-id` headers,
    `tenantId` / `entityId` query parameters or top-level JSON body fields. 400 if they name
    two different workspaces."""
    named: dict[uuid.UUID, str] = {}
    for header in TENANT_HEADERS:
        value = request.headers.get(header)
        if value is not None:
            named.setdefault(_workspace_id(header, value), header)
    for param in TENANT_PARAMS:
        value = request.query_params.get(param)
        if value is not None:
            named.setdefault(_workspace_id(param, value), param)
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if body:
            try:
                # The parser FastAPI uses, so the fields seen here are the fields it will see.
                doc = json.loads(body)
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                for param in TENANT_PARAMS:
                    if doc.get(param) is not None:
                        named.setdefault(_workspace_id(param, doc[param]), param)
    if len(named) > 1:
        raise InvalidRequest(
            "tenantId, entityId, X-Tenant-Id and x-entity-id name different workspaces",
            details=[
                ErrorDetail(field=field, message="Conflicting workspace ids")
                for field in named.values()
            ],
        )
    return next(iter(named), None)


class Authenticator:
    """`Depends(Authenticator(Scope.CRM_READ))` on a route: 401 without valid credentials, 403 when
    a scope is missing or another workspace is named, 429 past the rate limit."""

    def __init__(self, *scopes: Scope, category: str | None = None) -> None:
        self.scopes = tuple(s.value for s in scopes)
        self.category = category

    async def __call__(self, request: Request, db: DbSession) -> Principal:
        # Headers and query parameters are read here rather than declared as parameters
        # (declaring them costs a quarter of a millisecond per request); kit/openapi.py
        # documents them on every operation.
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Send Authorization: Bearer <API key or session token>")
        named = await named_workspace(request)
        repo = CredentialRepository(db)
        if token.startswith(API_KEY_PREFIX):
            principal = await self._from_api_key(request, repo, token)
            await self._count(request, principal)
            if named is not None and named != principal.tenant_id:
                raise Forbidden("The API key belongs to another workspace")
        else:
            principal = await self._from_session(request, repo, token, named)
            await self._count(request, principal)
        missing = [s for s in self.scopes if s not in principal.scopes]
        if missing:
            raise Forbidden(
                f"This credential lacks the scope {missing[0]}",
                details=[ErrorDetail(field="scope", message=f"requires {s}") for s in missing],
            )
        set_tenant_id(str(principal.tenant_id))
        request.state.principal = principal
        await idempotency.check(request, db, principal.rate_identity, principal.tenant_id)
        return principal

    async def _count(self, request: Request, principal: Principal) -> None:
        """Count the request against the caller's limit, refused or not, so probing is limited
        too; the headers are added to whatever response follows."""
        category = self.category or ("read" if request.method in ("GET", "HEAD") else "write")
        await _count(request, principal.rate_identity, category, principal.rate_limits)

    @staticmethod
    async def _from_api_key(request: Request, repo: CredentialRepository, token: str) -> Principal:
        cache: KeyCache = request.app.state.key_cache
        key_hash = hash_api_key(token)
        cached = cache.get(key_hash)
        record = cached.record if cached else await repo.key_by_hash(key_hash)
        if cached is None:
            cache.put(key_hash, record)
        if record is None:
            raise Unauthenticated("Unknown API key")
        now = utcnow()
        if record.revoked_at is not None:
            raise Unauthenticated("This API key has been revoked")
        if record.expires_at is not None and record.expires_at <= now:
            raise Unauthenticated("This API key has expired")
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            await repo.touch_key(record.id, now)
            cache.put(key_hash, replace(record, last_used_at=now))
        return Principal(
            tenant_id=record.tenant_id,
            scopes=record.scopes,
            api_key_id=record.id,
            expires_at=record.expires_at,
            tenant_settings=record.tenant_settings,
        )

    @staticmethod
    async def _from_session(
        request: Request, repo: CredentialRepository, token: str, named: uuid.UUID | None
    ) -> Principal:
        settings: Settings = request.app.state.settings
        try:
            claims = read_session_token(token, settings.resolved_secret_key())
        except InvalidToken as exc:
            raise Unauthenticated(str(exc)) from exc
        if named is None:
            memberships = await repo.memberships_of(claims.user_id)
            if not memberships:
                raise Forbidden("This user belongs to no workspace")
            if len(memberships) > 1:
                raise InvalidRequest(
                    "Name the workspace with the X-Tenant-Id header",
                    details=[ErrorDetail(field="X-Tenant-Id", message="Required for this user")],
                )
            named = memberships[0][0].tenant_id
        membership = await repo.membership(claims.user_id, named)
        if membership is None:
            if await repo.active_user(claims.user_id) is None:
                raise Unauthenticated("The user of this session no longer exists or is disabled")
            raise Forbidden("You are not a member of this workspace")
        return Principal(
            tenant_id=named,
            scopes=ROLE_SCOPES[MembershipRole(membership.role)],
            user_id=claims.user_id,
            tenant_settings=membership.tenant_settings,
        )


async def _count(
    request: Request, identity: str, category: str, overrides: Mapping[str, str]
) -> None:
    settings: Settings = request.app.state.settings
    if not settings.rate_limits_enabled:
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    request.state.rate_limit = await limiter.hit(identity, category, overrides)


async def count_anonymous(request: Request, category: str) -> None:
    """Rate-limit a route that has no credential yet (logging in) by the client's address."""
    client = request.client.host if request.client else "unknown"
    await _count(request, f"ip:{client}", category, {})


def requires_credentials(route: APIRoute) -> bool:
    """Whether the route authenticates its caller (its dependencies include an Authenticator)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Authenticator):
            return True
        pending.extend(dependant.dependencies)
    return False
