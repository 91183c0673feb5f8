"""Queries of the auth domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import platform_wide
from rapport.models.auth import ApiKey
from rapport.models.tenancy import Membership, Tenant, User

_LOOKUP = "credential look-up: which workspace a credential belongs to"


@dataclass(frozen=True)
class KeyRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    tenant_settings: dict[str, Any]


@dataclass(frozen=True)
class MembershipRecord:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    tenant_settings: dict[str, Any]


class CredentialRepository:
    """Look-ups that decide which workspace a credential belongs to: they run before one is
    known, so each statement is platform-wide, by name."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        stmt = (
            select(ApiKey, Tenant.settings)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == key_hash)
        )
        row = (await self.session.execute(platform_wide(stmt, _LOOKUP))).first()
        if row is None:
            return None
        key, settings = row
        return KeyRecord(
            key.id,
            key.tenant_id,
            frozenset(key.scopes),
            key.expires_at,
            key.revoked_at,
            key.last_used_at,
            dict(settings or {}),
        )

    async def touch_key(self, key_id: uuid.UUID, when: datetime) -> None:
        """Record use; `updated_at` tracks changes to the key itself, so it stays."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .values(last_used_at=when, updated_at=ApiKey.updated_at)
        )
        await self.session.execute(platform_wide(stmt, _LOOKUP))

    async def active_user(self, user_id: uuid.UUID) -> User | None:
        user = await self.session.get(User, user_id)
        return user if user is not None and user.is_active else None

    async def user_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalars().first()

    async def membership(self, user_id: uuid.UUID, tenant_id: uuid.UUID) -> MembershipRecord | None:
        stmt = (
            select(Membership.role, Tenant.settings)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.user_id == user_id,
                Membership.tenant_id == tenant_id,
                User.is_active.is_(True),
            )
        )
        row = (await self.session.execute(platform_wide(stmt, _LOOKUP))).first()
        if row is None:
            return None
        return MembershipRecord(user_id, tenant_id, str(row[0]), dict(row[1] or {}))

    async def memberships_of(self, user_id: uuid.UUID) -> list[tuple[Membership, Tenant]]:
        stmt = (
            select(Membership, Tenant)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.user_id == user_id)
            .order_by(Tenant.name)
        )
        rows = (await self.session.execute(platform_wide(stmt, _LOOKUP))).all()
        return [(m, t) for m, t in rows]


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": ApiKey.created_at,
        "name": ApiKey.name,
        "lastUsedAt": ApiKey.last_used_at,
    }

    async def page(self, request: PageRequest) -> tuple[list[ApiKey], PageMeta]:
        return await paginate(self.session, self.select(), request, self.sort_columns, ApiKey.id)

    def ids_created_by(self, user_id: uuid.UUID) -> Select[Any]:
        return self.select(ApiKey.id).where(ApiKey.created_by_user_id == user_id)
