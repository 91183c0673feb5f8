"""The base of every repository of tenant-owned rows. The tenant filter itself is not here: the
session's guard (`kit.tenant_guard`) adds it to every statement, whoever builds it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select, update
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

    async def lock_row(self, record: M) -> None:
        """Make concurrent changes of the record wait for each other until commit, and load it
        again as committed (so a write without If-Match applies to the current version
        instead of failing on a version another request just wrote): a row lock on
        PostgreSQL (one statement: the row read again under its lock); on SQLite, a write takes
        the database's write lock, then the row is read again."""
        row: Any = record  # every model locked this way has an id
        model: Any = type(record)
        # The write that takes SQLite's lock changes nothing: the version stamp, or the id.
        unchanged = model.updated_at if hasattr(model, "updated_at") else model.id
        record_id: uuid.UUID = row.id
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                select(model)
                .where(model.id == record_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            return
        await self.session.execute(
            update(model)
            .where(model.id == record_id)
            .values({unchanged.key: unchanged})
            .execution_options(synchronize_session=False)
        )
        await self.session.refresh(record)

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
