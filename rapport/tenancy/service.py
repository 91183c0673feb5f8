"""Workspace rules: creation (with an optional first admin), settings, membership."""

from __future__ import annotations

import uuid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.auth.credentials import hash_password
from rapport.kit import hooks
from rapport.kit.context import Context
from rapport.kit.errors import Conflict, NotFound, field_error
from rapport.models.tenancy import MembershipRole, Tenant, User
from rapport.tenancy.repository import WorkspaceRepository
from rapport.tenancy.schemas import WorkspaceUpdate

MIN_PASSWORD_LENGTH = 10


def normalize_login_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise field_error("email", str(exc)) from exc


class WorkspaceService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = WorkspaceRepository(session)

    async def create(self, name: str) -> Tenant:
        name = name.strip()
        if not name:
            raise field_error("name", "A workspace needs a name")
        tenant = Tenant(name=name, settings={})
        self.repo.add(tenant)
        await self.repo.flush()
        await hooks.workspace_created(Context.bound(self.repo.session, tenant.id))
        return tenant

    async def get(self, tenant_id: uuid.UUID) -> Tenant:
        tenant = await self.repo.get(tenant_id)
        if tenant is None:
            raise NotFound("Workspace not found")
        return tenant

    async def update(self, tenant_id: uuid.UUID, patch: WorkspaceUpdate) -> Tenant:
        tenant = await self.get(tenant_id)
        if patch.name is not None:
            name = patch.name.strip()
            if not name:
                raise field_error("name", "A workspace needs a name")
            tenant.name = name
        if patch.settings is not None:
            merged: dict[str, Any] = dict(tenant.settings or {})
            for key, value in patch.settings.model_dump(exclude_unset=True, by_alias=True).items():
                if key in ("tenantId", "entityId"):
                    continue
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            tenant.settings = merged
        await self.repo.flush()
        return tenant

    async def all(self) -> list[Tenant]:
        return await self.repo.all()

    async def is_empty(self) -> bool:
        return await self.repo.count() == 0

    async def add_user(
        self,
        tenant_id: uuid.UUID,
        email: str,
        password: str,
        *,
        name: str | None = None,
        role: MembershipRole = MembershipRole.ADMIN,
    ) -> User:
        """Create the user if new (or reuse it by email) and make it a member of the workspace."""
        await self.get(tenant_id)
        email = normalize_login_email(email)
        user = await self.repo.user_by_email(email)
        if user is None:
            if len(password) < MIN_PASSWORD_LENGTH:
                raise field_error("password", f"At least {MIN_PASSWORD_LENGTH} characters")
            user = User(email=email, name=name, password_hash=hash_password(password))
            self.repo.add(user)
            await self.repo.flush()
        elif await self.repo.membership(tenant_id, user.id) is not None:
            raise Conflict("This user is already a member of the workspace", code="ALREADY_MEMBER")
        await self.repo.add_membership(tenant_id, user.id, role)
        return user


async def is_member(context: Context, user_id: uuid.UUID) -> bool:
    """Whether the user belongs to the context's workspace (owners and assignees must)."""
    return await WorkspaceRepository(context.session).member(user_id) is not None


async def checked_owner(
    context: Context, user_id: uuid.UUID | None, field: str = "ownerUserId"
) -> uuid.UUID | None:
    """The owner a body names, refused (422 on `field`) unless a user of the workspace."""
    if user_id is not None and not await is_member(context, user_id):
        raise field_error(field, "Not a user of this workspace")
    return user_id
