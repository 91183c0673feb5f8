"""Queries on the workspaces table itself and on who belongs to them (the root of tenancy: a
workspace is made, and members added, before anything is bound to it)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.tenant_guard import platform_wide
from rapport.models.tenancy import Membership, MembershipRole, Tenant, User

_ADMINISTRATION = "workspace administration: memberships of a workspace named explicitly"


class WorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def count(self) -> int:
        return int(
            (await self.session.execute(select(func.count()).select_from(Tenant))).scalar_one()
        )

    async def all(self) -> list[Tenant]:
        return list(
            (await self.session.execute(select(Tenant).order_by(Tenant.created_at))).scalars()
        )

    def add(self, record: Tenant | User) -> None:
        self.session.add(record)

    async def user_by_email(self, email: str) -> User | None:
        return (
            (await self.session.execute(select(User).where(User.email == email))).scalars().first()
        )

    async def membership(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        stmt = select(Membership).where(
            Membership.tenant_id == tenant_id, Membership.user_id == user_id
        )
        return (await self.session.execute(platform_wide(stmt, _ADMINISTRATION))).scalars().first()

    async def add_membership(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: MembershipRole
    ) -> None:
        stmt = insert(Membership).values(tenant_id=tenant_id, user_id=user_id, role=role)
        await self.session.execute(platform_wide(stmt, _ADMINISTRATION))

    async def member(self, user_id: uuid.UUID) -> Membership | None:
        """The membership of a user in the session's workspace."""
        stmt = select(Membership).where(Membership.user_id == user_id)
        return (await self.session.execute(stmt)).scalars().first()

    async def flush(self) -> None:
        await self.session.flush()
