"""Auth rules: logging in, and issuing, listing and revoking API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.auth.credentials import (
    display_prefix,
    generate_api_key,
    hash_api_key,
    issue_session_token,
    verify_password,
)
from rapport.auth.repository import ApiKeyRepository, CredentialRepository
from rapport.auth.scopes import ALL_SCOPES, parse_scopes
from rapport.kit.clock import as_utc, utcnow
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import (
    ErrorDetail,
    Forbidden,
    InvalidRequest,
    NotFound,
    Unauthenticated,
    field_error,
)
from rapport.kit.pagination import PageRequest
from rapport.models.auth import ApiKey
from rapport.models.tenancy import Membership, Tenant, User


class LoginService:
    def __init__(self, session: AsyncSession, secret: str, ttl_seconds: int) -> None:
        self.repo = CredentialRepository(session)
        self.secret = secret
        self.ttl_seconds = ttl_seconds

    async def login(
        self, email: str, password: str
    ) -> tuple[str, datetime, User, list[tuple[Membership, Tenant]]]:
        user = await self.repo.user_by_email(email.strip().lower())
        valid = verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            raise Unauthenticated("Wrong email or password")
        user.last_login_at = utcnow()
        token, expires = issue_session_token(user.id, self.secret, self.ttl_seconds)
        return token, expires, user, await self.repo.memberships_of(user.id)


class ApiKeyService:
    """Keys of one workspace. A new key carries at most the scopes of its creator (`grantable`)
    and expires no later than the creating key (`latest_expiry`); operators on the command
    line are not limited."""

    def __init__(
        self,
        context: Context,
        *,
        grantable: frozenset[str] = ALL_SCOPES,
        creator_user_id: uuid.UUID | None = None,
        latest_expiry: datetime | None = None,
    ) -> None:
        self.repo = ApiKeyRepository(context.session)
        self.grantable = grantable
        self.creator_user_id = creator_user_id
        self.latest_expiry = latest_expiry

    async def create(
        self, name: str, scopes: list[str], expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """The stored key and its secret, which is not kept and cannot be shown again."""
        try:
            scopes = parse_scopes(scopes)
        except ValueError as exc:
            raise field_error("scopes", str(exc)) from exc
        beyond = [s for s in scopes if s not in self.grantable]
        if beyond:
            raise Forbidden(f"A key cannot grant {beyond[0]}, which its creator does not hold")
        if expires_at is not None and as_utc(expires_at) <= utcnow():
            raise field_error("expiresAt", "Must be in the future")
        if self.latest_expiry is not None and (
            expires_at is None or as_utc(expires_at) > self.latest_expiry
        ):
            expires_at = self.latest_expiry
        secret = generate_api_key()
        key = ApiKey(
            name=name.strip() or "API key",
            prefix=display_prefix(secret),
            key_hash=hash_api_key(secret),
            scopes=scopes,
            expires_at=as_utc(expires_at) if expires_at else None,
            created_by_user_id=self.creator_user_id,
        )
        self.repo.add(key)
        await self.repo.flush()
        return key, secret

    async def list(self, page: PageRequest) -> tuple[list[ApiKey], PageMeta]:
        return await self.repo.page(page)

    async def get(self, key_id: uuid.UUID) -> ApiKey:
        key = await self.repo.get(key_id)
        if key is None:
            raise NotFound("API key not found")
        return key

    async def revoke(self, key_id: uuid.UUID) -> ApiKey:
        key = await self.get(key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.repo.flush()
        return key

    def ids_created_by(self, user_id: uuid.UUID) -> Select[Any]:
        """A subquery of the ids of the workspace's keys that the user created (revoked and
        expired ones too)."""
        return self.repo.ids_created_by(user_id)


async def acting_user_id(context: Context) -> uuid.UUID | None:
    """The user behind the context's actor: the signed-in user, or the user who created the API
    key (None for keys made on the command line, and for the system)."""
    actor = context.actor
    if actor.type == "user":
        return actor.id
    if actor.type != "api_key" or actor.id is None:
        return None
    key = await ApiKeyRepository(context.session).get(actor.id)
    return None if key is None else key.created_by_user_id


async def owner_filter(context: Context, value: str | None) -> dict[str, Any]:
    """The `ownerUserId` list filter (a user id, `me` or `unassigned`) as the filter fields
    `owner_user_id` / `unassigned` of a list's filters."""
    if value is None:
        return {}
    if value == "unassigned":
        return {"unassigned": True}
    if value == "me":
        me = await acting_user_id(context)
        if me is None:
            raise InvalidRequest(
                "ownerUserId: `me` needs a user; this API key was not created by one",
                details=[ErrorDetail(field="ownerUserId", message="No user behind this key")],
            )
        return {"owner_user_id": me}
    try:
        return {"owner_user_id": uuid.UUID(value)}
    except ValueError as exc:
        raise InvalidRequest(
            "ownerUserId: a user id, `me` or `unassigned`",
            details=[ErrorDetail(field="ownerUserId", message="A user id, me or unassigned")],
        ) from exc
