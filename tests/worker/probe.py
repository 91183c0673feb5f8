"""Tasks for tests and benchmarks of the queue, loaded by worker processes through
RAPPORT_WORKER_TASK_MODULES. `probe.record` writes one row per successful run into
`probe_runs` (created by the caller), in the job's own transaction; `probe.write` does the same
as a batched task (in its batch's transaction); `probe.noop` (batched) does nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from rapport.worker.registry import JobContext, task


@task("probe.record", queue="probe", max_attempts=5)
async def record(context: JobContext, payload: dict[str, Any]) -> None:
    if payload.get("sleep") and context.attempt == 1:
        await asyncio.sleep(float(payload["sleep"]))  # long enough to be killed mid-job
    await context.session.execute(
        text("INSERT INTO probe_runs (job_id, attempt) VALUES (:job, :attempt)"),
        {"job": str(context.job_id), "attempt": context.attempt},
    )


@task("probe.write", queue="probe", max_attempts=5, batch=True)
async def write(context: JobContext, _payload: dict[str, Any]) -> None:
    await context.session.execute(
        text("INSERT INTO probe_runs (job_id, attempt) VALUES (:job, :attempt)"),
        {"job": str(context.job_id), "attempt": context.attempt},
    )


@task("probe.noop", queue="probe", max_attempts=3, batch=True)
async def noop(_context: JobContext, _payload: dict[str, Any]) -> None:
    return None
