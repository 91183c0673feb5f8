"""Background work of exports: writing each export's file, and deleting expired files."""

from __future__ import annotations

import uuid
from typing import Any

from rapport.exports.service import RUN_TASK, ExportRun, ExportService, expire_files
from rapport.kit.clock import utcnow
from rapport.worker.registry import JobContext, task


async def _give_up(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """Every attempt's worker stopped before the file was written: the export fails."""
    await ExportService(context.workspace, context.settings).fail(
        uuid.UUID(payload["exportId"]), f"The export's job stopped before it finished: {error}"
    )


@task(RUN_TASK, max_attempts=3, on_dead=_give_up)
async def run(context: JobContext, payload: dict[str, Any]) -> None:
    """Write the export's file (started over by a later attempt if this one's worker stops)
    and complete the export with the job. A failure of the export itself (its query no
    longer compiles, the disk is full) is recorded on the export, not retried."""
    if context.tenant_id is None:
        raise ValueError("An export belongs to a workspace")
    attempt = ExportRun(context.database, context.tenant_id, context.settings)
    export = await attempt.start(uuid.UUID(payload["exportId"]))
    if export is None:
        return
    written = await attempt.write(export)
    if written is not None:
        await ExportService(context.workspace, context.settings).complete(export, written)


@task("exports.expire", schedule="*/5 * * * *", max_attempts=3)
async def expire(context: JobContext, _payload: dict[str, Any]) -> None:
    """Every five minutes: delete the files of exports past their expiry (their links are
    refused from that moment on anyway)."""
    await expire_files(context.session, context.settings, utcnow())
