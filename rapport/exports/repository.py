"""Every query of exports, and the streamed read of the rows an export writes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, delete, update

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import (
    driver_statement,
    inlined_statement,
    platform_wide,
    prepared,
    stream_prepared,
)
from rapport.models.exports import Export, ExportStatus

BATCH_ROWS = 5_000
"""Rows fetched at a time from a server-side cursor (PostgreSQL) or the SQLite statement: the
most an export holds in memory."""

_SWEEP = "expired exports of every workspace: their files are deleted"


class ExportRepository(Repository[Export]):
    model = Export
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Export.created_at,
        "completedAt": Export.completed_at,
    }

    async def page(self, request: PageRequest) -> tuple[list[Export], PageMeta]:
        return await paginate(self.session, self.select(), request, self.sort_columns, Export.id)

    async def set_values(self, export_id: uuid.UUID, **values: Any) -> bool:
        """Write these columns of the export; whether it still exists."""
        result = await self.session.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def remove(self, export_id: uuid.UUID) -> None:
        await self.session.execute(delete(Export).where(Export.id == export_id))

    async def batches(self, statement: Select[Any]) -> AsyncIterator[Sequence[Any]]:
        """The rows of `statement` in batches, read as they are needed (a server-side cursor
        on PostgreSQL), never all at once."""
        result = await self.session.stream(statement.execution_options(yield_per=BATCH_ROWS))
        async for batch in result.partitions():
            yield batch

    async def text_batches(self, statement: Select[Any]) -> AsyncIterator[Sequence[Any]]:
        """The rows of `statement`, whose columns the database writes as text, in batches as
        the driver gives them (no ORM row loading, and on SQLite not even SQLAlchemy's rows:
        the guarded statement runs on the transaction's sqlite3 cursor), read as they are
        needed."""
        if self._dialect() != "sqlite":
            async for batch in stream_prepared(
                self.session, prepared(statement), {}, rows=BATCH_ROWS
            ):
                yield batch
            return
        found = await driver_statement(self.session, prepared(statement), {})
        cursor = found.driver_connection.cursor()
        await cursor.execute(found.sql, found.parameters)
        try:
            while batch := await cursor.fetchmany(BATCH_ROWS):
                yield batch
        finally:
            await cursor.close()

    def _dialect(self) -> str:
        return str(self.session.get_bind().dialect.name)

    async def copy_csv(
        self, statement: Select[Any], output: Callable[[bytes], Awaitable[None]]
    ) -> int:
        """PostgreSQL: the rows of `statement` as CSV written by the database (`COPY (...) TO
        STDOUT`), in the session's transaction, handed to `output` as they come; how many.
        COPY takes no parameters: the statement, with the guard, is compiled with its values
        written in as literals by SQLAlchemy (`tenant_guard.inlined_statement`)."""
        found = await inlined_statement(self.session, prepared(statement), {})
        status = await found.driver_connection.copy_from_query(
            found.sql, output=output, format="csv"
        )
        return int(status.split()[-1])

    def copies(self) -> bool:
        """Whether the database writes CSV itself (PostgreSQL's COPY)."""
        return self._dialect() == "postgresql"

    async def expired_everywhere(self, now: datetime, limit: int) -> list[Export]:
        """Completed exports of every workspace whose files are past their expiry."""
        result = await self.session.execute(
            platform_wide(
                self.select()
                .where(Export.status == ExportStatus.COMPLETED, Export.expires_at <= now)
                .order_by(Export.expires_at)
                .limit(limit),
                _SWEEP,
            )
        )
        return list(result.scalars())

    async def mark_expired(self, export_ids: Sequence[uuid.UUID]) -> None:
        await self.session.execute(
            platform_wide(
                update(Export)
                .where(Export.id.in_(export_ids), Export.status == ExportStatus.COMPLETED)
                .values(status=ExportStatus.EXPIRED)
                .execution_options(synchronize_session=False),
                _SWEEP,
            )
        )
