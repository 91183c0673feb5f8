"""The base of every repository of tenant-owned rows. The tenant filter itself is not here: the
session's guard (`kit.tenant_guard`) adds it to every statement, whoever builds it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from rapport.kit.errors import AppError, PreconditionFailed
from rapport.kit.tenant_guard import TenantOwned

M = TypeVar("M", bound=TenantOwned)


class Repository(Generic[M]):
    """Subclasses set `model`; `select()` starts a statement on it, `add()` adds a row (the
    guard stamps its workspace at flush), `flush()` turns unique-index races into 409s."""

    model: ClassVar[type[Any]]
    # Substrings of the driver's message (PostgreSQL names the index, SQLite the columns) that
    # identify a unique violation, and the domain error to raise for it.
    unique_violations: ClassVar[dict[str, Callable[[], AppError]]] = {}

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def select(self, *entities: Any) -> Select[Any]:
        return select(*entities) if entities else select(self.model)

    async def get(self, record_id: uuid.UUID) -> M | None:
        """By primary key (served from the session's identity map when loaded already)."""
        record: M | None = await self.session.get(self.model, record_id)
        return record

    async def first(self, *where: Any) -> M | None:
        result = await self.session.execute(self.select().where(*where).limit(1))
        row: M | None = result.scalars().first()
        return row

    def add(self, record: M) -> M:
        self.session.add(record)
        return record

    async def refresh(self, record: M) -> None:
        """Load the record's columns again from the database (after a lock: what other
        transactions committed meanwhile)."""
        await self.session.refresh(record)

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
