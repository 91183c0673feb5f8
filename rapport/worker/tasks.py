"""The platform's own periodic housekeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rapport.kit.clock import utcnow
from rapport.kit.db import refresh_planner_statistics
from rapport.kit.idempotency import IdempotencyStore
from rapport.worker.registry import JobContext, task
from rapport.worker.repository import PlatformJobRepository

FINISHED_JOBS_KEPT = timedelta(days=7)


@task("maintenance.purge", schedule="17 * * * *", max_attempts=3)
async def purge(context: JobContext, _payload: dict[str, Any]) -> None:
    """Drop expired idempotency records and jobs that succeeded over a week ago (dead jobs are
    kept until someone looks at them)."""
    await IdempotencyStore(context.session).purge_expired()
    await PlatformJobRepository(context.session).delete_succeeded_before(
        utcnow() - FINISHED_JOBS_KEPT
    )


@task("maintenance.statistics", schedule="*/10 * * * *", max_attempts=3)
async def statistics(context: JobContext, _payload: dict[str, Any]) -> None:
    """Refresh the query planner's statistics as the data grows (SQLite; a no-op elsewhere):
    every ten minutes, since it costs milliseconds and an import can grow a table tenfold
    within the hour."""
    await refresh_planner_statistics(await context.session.connection())
