"""Database engine, sessions, the declarative base and the column types shared by all tables."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator, Uuid

from rapport.kit.clock import as_utc, utcnow
from rapport.kit.ids import new_id
from rapport.kit.sqlite import InlineSQLiteDialect, serialize_writes
from rapport.kit.tenant_guard import GuardedSession, bind_workspace, open_platform_wide

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend.

    SQLite keeps no offset, so values are stored there as naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Choice(enum.StrEnum):
    """A value of a closed list: answered in the API's own spelling (`ACTIVE` for contacts,
    `lead` for companies, as each published reference has it), accepted in any case."""

    @classmethod
    def _missing_(cls, value: object) -> Choice | None:
        if isinstance(value, str):
            folded = value.casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return None


def enum_type(cls: type[enum.Enum]) -> Enum:
    """An enum stored as its value in a VARCHAR (no native type: adding a member needs no DDL)."""
    return Enum(
        cls,
        native_enum=False,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid(), dict[str, Any]: JSONType}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """An engine and its session factory; one per process (and per test backend)."""

    def __init__(
        self, url: str, *, echo: bool = False, pooled: bool = True, pool_size: int = 32
    ) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("postgresql"):
            # JIT compilation pays off for long analytical queries; on an exact count over a
            # million rows it cost up to 100 ms of the query (bench/README.md, cql.py).
            kwargs["connect_args"] = {"server_settings": {"jit": "off"}}
        if not pooled:
            kwargs["poolclass"] = NullPool
        elif not url.startswith("sqlite") or ":memory:" not in url:
            # Connections beyond the pool are opened and closed per request, which costs more
            # than the request itself: size the pool for the expected concurrency.
            kwargs.update(pool_size=pool_size, max_overflow=pool_size // 2)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _tune_sqlite)
        if self.engine.dialect.driver == InlineSQLiteDialect.driver:
            serialize_writes(self.engine.sync_engine)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=GuardedSession
        )
        # Reads on PostgreSQL skip BEGIN/COMMIT (two round trips of three for a one-row read);
        # SQLite's driver opens no transaction for reads in the first place.
        reader = self.engine
        if self.engine.dialect.name == "postgresql":
            reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.reader = async_sessionmaker(
            reader, expire_on_commit=False, sync_session_class=GuardedSession
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(
        self, *, workspace: uuid.UUID | None = None, platform: str | None = None
    ) -> AsyncSession:
        """A session bound to one workspace, or (`platform` saying why) to none: see
        `kit.tenant_guard`. Bound to neither, it cannot touch tenant-owned tables."""
        return _scoped(self.sessionmaker(), workspace, platform)

    @asynccontextmanager
    async def transaction(
        self, *, workspace: uuid.UUID | None = None, platform: str | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A session (as `session()`) whose work is committed on success and rolled back on
        any error."""
        session = self.session(workspace=workspace, platform=platform)
        async with session, _committed(session):
            yield session

    @asynccontextmanager
    async def savepoint(
        self,
        within: AsyncSession,
        *,
        workspace: uuid.UUID | None = None,
        platform: str | None = None,
    ) -> AsyncIterator[AsyncSession]:
        """A session of its own (bound as `session()`, with an identity map of its own) inside
        the transaction of `within`, a platform-wide session: its work stays in that
        transaction on success and is rolled back alone (to a savepoint) on any error, the
        enclosing transaction carrying on. The savepoint is taken at the session's first
        statement: a session that runs none costs nothing.

        On SQLite the enclosing transaction must have written already: the driver begins a
        transaction only at a write, and a savepoint taken outside one would commit on
        release."""
        connection = await within.connection()
        if self.dialect == "sqlite":
            raw = await connection.get_raw_connection()
            if not getattr(raw.driver_connection, "in_transaction", True):
                raise RuntimeError("A savepoint on SQLite needs a transaction that has written")
        session = self.sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        async with _scoped(session, workspace, platform) as session, _committed(session):
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _scoped(
    session: AsyncSession, workspace: uuid.UUID | None, platform: str | None
) -> AsyncSession:
    if workspace is not None:
        bind_workspace(session, workspace)
    if platform is not None:
        open_platform_wide(session, platform)
    return session


@asynccontextmanager
async def _committed(session: AsyncSession) -> AsyncIterator[None]:
    """Commit the session's work on success, roll it back on any error."""
    try:
        yield
        await session.commit()
    except BaseException:
        await session.rollback()
        raise


async def refresh_planner_statistics(connection: AsyncConnection) -> None:
    """SQLite keeps no statistics unless told to: without them its planner takes any index
    starting with `tenant_id` for a lookup that a longer index serves in one step. ANALYZE,
    sampling at most 1,000 rows per index, costs milliseconds at any size. PostgreSQL's
    autovacuum keeps its own statistics."""
    if connection.dialect.name != "sqlite":
        return
    await connection.exec_driver_sql("PRAGMA analysis_limit=1000")
    await connection.exec_driver_sql("ANALYZE")
