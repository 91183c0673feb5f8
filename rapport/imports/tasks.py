"""Background work of imports: reading each import's file into contacts, chunk by chunk."""

from __future__ import annotations

import uuid
from typing import Any

from rapport.imports.service import RUN_TASK, ImportRun
from rapport.worker.registry import JobContext, task


def _run(context: JobContext) -> ImportRun:
    if context.tenant_id is None:
        raise ValueError("An import belongs to a workspace")
    return ImportRun(context.database, context.tenant_id, context.settings)


async def _give_up(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """Every attempt stopped before the end: the import fails, its committed rows stay."""
    await _run(context).fail(
        uuid.UUID(payload["importId"]), f"The import's job stopped before it finished: {error}"
    )


@task(RUN_TASK, max_attempts=5, on_dead=_give_up)
async def run(context: JobContext, payload: dict[str, Any]) -> None:
    """Import the rows after the last committed chunk (a later attempt resumes there)."""
    await _run(context).run(uuid.UUID(payload["importId"]))
