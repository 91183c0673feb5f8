"""Every query of imports and of their error reports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from sqlalchemy import tuple_, update

from rapport.kit.deferred import insert_at_commit
from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import workspace_of
from rapport.models.imports import Import, ImportRowError

REPORT_BATCH = 5_000


class ImportRepository(Repository[Import]):
    model = Import
    sort_columns: ClassVar[dict[str, Any]] = {"createdAt": Import.created_at}

    async def page(self, request: PageRequest) -> tuple[list[Import], PageMeta]:
        return await paginate(self.session, self.select(), request, self.sort_columns, Import.id)

    async def set_values(self, import_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(Import)
            .where(Import.id == import_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def add_progress(self, import_id: uuid.UUID, **counts: int) -> None:
        """Add these counts (`rows_done`, `created_count`...) to the import's."""
        await self.set_values(
            import_id,
            **{name: getattr(Import, name) + amount for name, amount in counts.items()},
        )

    def add_errors(
        self, import_id: uuid.UUID, errors: Sequence[tuple[int, str | None, str]]
    ) -> None:
        """The rows' errors (row, column, reason), written at commit with the chunk."""
        tenant_id = workspace_of(self.session)
        ordinals: dict[int, int] = {}
        for row, column, reason in errors:
            ordinal = ordinals[row] = ordinals.get(row, -1) + 1
            insert_at_commit(
                self.session,
                ImportRowError,
                {
                    "tenant_id": tenant_id,
                    "import_id": import_id,
                    "row": row,
                    "ordinal": ordinal,
                    "column": column,
                    "reason": reason,
                },
            )

    async def errors(self, import_id: uuid.UUID) -> AsyncIterator[Sequence[ImportRowError]]:
        """The import's errors by row, in batches read one query at a time after the last
        row read (never all at once, and no cursor left open between batches)."""
        after = (-1, -1)
        while True:
            statement = (
                self.select(ImportRowError)
                .where(
                    ImportRowError.import_id == import_id,
                    tuple_(ImportRowError.row, ImportRowError.ordinal) > after,
                )
                .order_by(ImportRowError.row, ImportRowError.ordinal)
                .limit(REPORT_BATCH)
            )
            batch = list((await self.session.execute(statement)).scalars())
            if not batch:
                return
            yield batch
            after = (batch[-1].row, batch[-1].ordinal)
