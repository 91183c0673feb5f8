"""The tenant choke point: every query of a tenant-owned table is built here, scoped to it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from rapport.kit.errors import AppError, PreconditionFailed
from rapport.models.tenancy import TenantOwned

M = TypeVar("M", bound=TenantOwned)


class ScopedRepository(Generic[M]):
    """Base of every repository of tenant-owned rows.

    Subclasses set `model` and build statements with `self.select()`, which already carries
    `tenant_id = <current tenant>`; rows are added with `self.add()`, which stamps the tenant.
    No other code filters by tenant.
    """

    model: ClassVar[type[Any]]
    # Substrings of the driver's message (PostgreSQL names the index, SQLite the columns) that
    # identify a unique violation, and the domain error to raise for it.
    unique_violations: ClassVar[dict[str, Callable[[], AppError]]] = {}

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def select(self, *entities: Any) -> Select[Any]:
        stmt = select(*entities) if entities else select(self.model)
        return stmt.where(self.model.tenant_id == self.tenant_id)

    async def get(self, record_id: uuid.UUID) -> M | None:
        """By primary key (served from the session's identity map when loaded already)."""
        record: M | None = await self.session.get(self.model, record_id)
        if record is None or record.tenant_id != self.tenant_id:
            return None
        return record

    async def first(self, *where: Any) -> M | None:
        result = await self.session.execute(self.select().where(*where).limit(1))
        row: M | None = result.scalars().first()
        return row

    def add(self, record: M) -> M:
        record.tenant_id = self.tenant_id
        self.session.add(record)
        return record

    async def flush(self) -> None:
        """Write pending changes, turning a unique-index race into the domain's 409."""
        try:
            await self.session.flush()
        except StaleDataError as exc:
            raise PreconditionFailed("The record was changed by another request") from exc
        except IntegrityError as exc:
            message = str(exc.orig)
            for marker, error in self.unique_violations.items():
                if marker in message:
                    raise error() from exc
            raise
