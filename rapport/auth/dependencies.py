"""Access to the API, as dependencies composed in this order: `authenticate` (who is calling),
`RateLimit` (counted before any refusal, so probing is limited too), `require` (the workspace
named and the scopes), `claim_idempotency_key`. `access(*scopes)` composes them into the
request's `Context`; domains declare their service dependencies on it (`provide`)."""

import functools
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute

from rapport.auth.credentials import (
    API_KEY_PREFIX,
    InvalidToken,
    SessionClaims,
    hash_api_key,
    read_session_token,
)
from rapport.auth.principal import Principal
from rapport.auth.repository import CredentialRepository, KeyRecord
from rapport.auth.scopes import ROLE_SCOPES, Scope
from rapport.config import Settings
from rapport.kit import idempotency
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.errors import (
    ErrorDetail,
    Forbidden,
    InvalidRequest,
    Unauthenticated,
)
from rapport.kit.query import refuse_unknown_query
from rapport.kit.ratelimit import RateLimiter
from rapport.kit.requestctx import set_tenant_id
from rapport.kit.session import DbSession
from rapport.kit.tenant_guard import bind_workspace
from rapport.models.tenancy import MembershipRole

TENANT_HEADERS = ("X-Tenant-Id", "x-entity-id")
TENANT_PARAMS = ("tenantId", "entityId")
_TOUCH_EVERY = timedelta(seconds=60)
_KEY_USE = "recording when an API key was last used"
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


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON: `application/json` or
    `application/*+json`."""
    media = (content_type or "").partition(";")[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The body, when it is a JSON object sent as JSON (any other body is not JSON to the route
    either). Starlette keeps FastAPI's parse, so a route with a body is not parsed twice; the
    body of a body-less route is parsed here, within the size limit of the middleware. 400 for
    a body that is not JSON, or nested too deeply for the parser."""
    if not _is_json(request.headers.get("content-type")) or not await request.body():
        return None
    try:
        doc = await request.json()
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(
            "The body is not valid JSON",
            details=[ErrorDetail(field="body", message="Not JSON, or nested too deeply")],
        ) from exc
    return doc if isinstance(doc, dict) else None


async def named_workspace(request: Request) -> uuid.UUID | None:
    """The workspace the request names, if any: `X-Tenant-Id` / `x-entity-id` headers,
    `tenantId` / `entityId` query parameters or top-level JSON body fields. 400 if they name
    two different workspaces. Called once the credential is known to be good, so no one else
    gets a body parsed."""
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
        doc = await _json_object(request)
        for param in TENANT_PARAMS:
            if doc is not None and doc.get(param) is not None:
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


async def authenticate(request: Request, db: DbSession) -> Principal:
    """Who is calling: 401 without valid credentials; with a session token, 403 unless the user
    belongs to the workspace named. Once per request, whether declared as a dependency or
    called (as `access` does)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is None:
        known = request.state.principal = await _authenticated(request, db)
    return known


async def _authenticated(request: Request, db: DbSession) -> Principal:
    # Headers and query parameters are read here rather than declared as parameters
    # (declaring them costs a quarter of a millisecond per request); kit/openapi.py documents
    # them on every operation.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Send Authorization: Bearer <API key or session token>")
    repo = CredentialRepository(db)
    if token.startswith(API_KEY_PREFIX):
        principal = await _from_api_key(request, repo, token)
        request.state.named_workspace = await named_workspace(request)
        return principal
    claims = _session_claims(request, token)
    named = await named_workspace(request)
    request.state.named_workspace = named
    return await _from_session(repo, claims, named)


class RateLimit:
    """Counts the request against the caller's limit for a category (by default `read` for GET
    and HEAD, `write` otherwise); 429 past it. The headers go on whatever response follows."""

    def __init__(self, category: str | None = None) -> None:
        self.category = category

    async def count(self, request: Request, principal: Principal) -> None:
        """Once per request and category, however many `access` dependencies a route has."""
        category = self.category or ("read" if request.method in ("GET", "HEAD") else "write")
        counted: set[str] | None = getattr(request.state, "rate_counted", None)
        if counted is None:
            counted = request.state.rate_counted = set()
        if category not in counted:
            counted.add(category)
            await _count(request, principal.rate_identity, category, principal.rate_limits)


count_request = RateLimit()
count_as_read = RateLimit("read")
"""For a POST that only reads (a query with its filter in the body)."""
count_as_bulk = RateLimit("bulk")
"""For a batch operation: many records in one call."""


def require(principal: Principal, request: Request, scopes: tuple[str, ...]) -> None:
    """403 when an API key is used for another workspace than its own, or a scope is missing."""
    named: uuid.UUID | None = getattr(request.state, "named_workspace", None)
    if principal.api_key_id is not None and named is not None and named != principal.tenant_id:
        raise Forbidden("The API key belongs to another workspace")
    missing = [s for s in scopes if s not in principal.scopes]
    if missing:
        raise Forbidden(
            f"This credential lacks the scope {missing[0]}",
            details=[ErrorDetail(field="scope", message=f"requires {s}") for s in missing],
        )


@functools.cache
def access(*scopes: Scope, rate_limit: RateLimit = count_request) -> Any:
    """`Annotated[Context, access(Scope.CRM_READ)]`: the request's context once the caller is
    authenticated, counted, allowed into the workspace with these scopes, and its
    Idempotency-Key handled. One dependency per set of scopes, so a route asking for the same
    access twice runs it once."""
    wanted = tuple(s.value for s in scopes)

    async def workspace_context(request: Request, db: DbSession) -> Context:
        # Authenticated and counted by calls, not declared as dependencies: each level of
        # FastAPI's dependency graph costs a tenth of a millisecond or more per request.
        principal = await authenticate(request, db)
        await rate_limit.count(request, principal)
        require(principal, request, wanted)
        refuse_unknown_query(request, also_known=TENANT_PARAMS)
        set_tenant_id(str(principal.tenant_id))
        bind_workspace(db, principal.tenant_id)
        context = Context(db, principal.tenant_id, principal.tenant_settings, principal.actor)
        # Called, not declared as one more dependency: a level of FastAPI's dependency graph
        # costs about 0.3 ms of CPU per request here.
        await claim_idempotency_key(request, context, principal)
        return context

    _SCOPES_OF[workspace_context] = wanted
    return Depends(workspace_context)


async def claim_idempotency_key(request: Request, context: Context, principal: Principal) -> None:
    """Replay, refuse or claim the request's `Idempotency-Key` (see `kit.idempotency`), once
    the caller is allowed in."""
    await idempotency.check(request, context.session, principal.rate_identity, context.workspace_id)


_SCOPES_OF: dict[Callable[..., Any], tuple[str, ...]] = {}


def required_scopes(route: APIRoute) -> set[str]:
    """The scopes a route requires (those of the `access` dependencies it declares)."""
    found: set[str] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call in _SCOPES_OF:
            found.update(_SCOPES_OF[dependant.call])
        pending.extend(dependant.dependencies)
    return found


Service = TypeVar("Service")


def provide(
    factory: Callable[[Context], Service],
    *scopes: Scope,
    rate_limit: RateLimit = count_request,
) -> Any:
    """`Annotated[ContactService, provide(ContactService, Scope.CRM_READ)]`: a domain's service
    as a dependency, built from the context `access(*scopes)` gives."""

    async def build(
        context: Annotated[Context, access(*scopes, rate_limit=rate_limit)],
    ) -> Service:
        # async: FastAPI runs a plain function in a worker thread, a hop per request.
        return factory(context)

    return Depends(build)


def server_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


ServerSettings = Annotated[Settings, Depends(server_settings)]
"""The server's settings (data directory, secret key, public address), for a route whose
service needs them."""

Caller = Annotated[Principal, Depends(authenticate)]
"""The credential itself (its kind, scopes, user), beside an `access` dependency."""


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
        # Cached first, so the requests of this process that follow do not touch it too; and
        # in a transaction of its own: in the request's, the key's row would stay locked
        # until the request commits, and every request with this key would queue behind it.
        cache.put(key_hash, replace(record, last_used_at=now))
        database: Database = request.app.state.database
        async with database.transaction(platform=_KEY_USE) as session:
            await CredentialRepository(session).touch_key(record.id, now)
    return Principal(
        tenant_id=record.tenant_id,
        scopes=record.scopes,
        api_key_id=record.id,
        expires_at=record.expires_at,
        tenant_settings=record.tenant_settings,
    )


def _session_claims(request: Request, token: str) -> SessionClaims:
    settings = server_settings(request)
    try:
        return read_session_token(token, settings.resolved_secret_key())
    except InvalidToken as exc:
        raise Unauthenticated(str(exc)) from exc


async def _from_session(
    repo: CredentialRepository, claims: SessionClaims, named: uuid.UUID | None
) -> Principal:
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
    settings = server_settings(request)
    if not settings.rate_limits_enabled:
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    request.state.rate_limit = await limiter.hit(identity, category, overrides)


async def count_anonymous(request: Request, category: str) -> None:
    """Rate-limit a route that has no credential yet (logging in) by the client's address."""
    client = request.client.host if request.client else "unknown"
    await _count(request, f"ip:{client}", category, {})


def requires_credentials(route: APIRoute) -> bool:
    """Whether the route authenticates its caller (its dependencies include `authenticate` or
    an `access` dependency, which calls it)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is authenticate or dependant.call in _SCOPES_OF:
            return True
        pending.extend(dependant.dependencies)
    return False


ReadAccess = Annotated[Context, access(Scope.CRM_READ)]
WriteAccess = Annotated[Context, access(Scope.CRM_WRITE)]
AdminAccess = Annotated[Context, access(Scope.CRM_ADMIN)]

OwnerQuery = Annotated[
    str | None,
    Query(
        alias="ownerUserId",
        max_length=40,
        description="Owned by this user (an id), by the user behind the key (`me`), or by no "
        "one (`unassigned`)",
    ),
]
"""The owner filter of a list; `rapport.auth.service.owner_filter` reads it."""
