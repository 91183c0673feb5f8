"""A durable job queue in the application's own database: adding jobs to it.

Guarantees: a job is enqueued in the caller's transaction (it exists exactly when the caller's
work was committed). Workers (`rapport.worker.loop`) claim and run the jobs; their tasks are
declared in `rapport.worker.registry`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.clock import utcnow
from rapport.kit.ids import new_id
from rapport.models.jobs import JobState
from rapport.worker.registry import REGISTRY
from rapport.worker.repository import JobQueueRepository


def _job_row(
    task_name: str,
    payload: dict[str, Any] | None,
    *,
    tenant_id: uuid.UUID | None,
    queue: str | None,
    priority: int,
    run_at: datetime | None,
    delay: float,
    unique_key: str | None,
    max_attempts: int | None,
) -> dict[str, Any]:
    spec = REGISTRY.get(task_name)
    now = utcnow()
    if unique_key is not None and tenant_id is not None:
        unique_key = f"{tenant_id}:{unique_key}"  # workspaces never share keys
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "queue": queue or (spec.queue if spec else "default"),
        "task": task_name,
        "payload": payload or {},
        "priority": priority,
        "state": JobState.QUEUED,
        "run_at": (run_at or now) + timedelta(seconds=delay),
        "attempts": 0,
        "max_attempts": max_attempts or (spec.max_attempts if spec else 10),
        "unique_key": unique_key,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    session: AsyncSession,
    task_name: str,
    payload: dict[str, Any] | None = None,
    *,
    tenant_id: uuid.UUID | None = None,
    queue: str | None = None,
    priority: int = 0,
    run_at: datetime | None = None,
    delay: float = 0.0,
    unique_key: str | None = None,
    max_attempts: int | None = None,
) -> uuid.UUID:
    """Add a job in the caller's transaction; with `unique_key`, an existing job with that key
    is kept and its id returned instead."""
    row = _job_row(
        task_name,
        payload,
        tenant_id=tenant_id,
        queue=queue,
        priority=priority,
        run_at=run_at,
        delay=delay,
        unique_key=unique_key,
        max_attempts=max_attempts,
    )
    jobs = JobQueueRepository(session)
    if unique_key is None:
        await jobs.add(row)
        job_id: uuid.UUID = row["id"]
        return job_id
    return await jobs.add_unique(row)


async def enqueue_many(
    session: AsyncSession,
    task_name: str,
    jobs: Sequence[tuple[uuid.UUID | None, dict[str, Any]]],
    *,
    priority: int = 0,
) -> None:
    """Add one job per (workspace, payload) in a single statement, in the caller's
    transaction."""
    if not jobs:
        return
    rows = [
        _job_row(
            task_name,
            payload,
            tenant_id=tenant_id,
            queue=None,
            priority=priority,
            run_at=None,
            delay=0.0,
            unique_key=None,
            max_attempts=None,
        )
        for tenant_id, payload in jobs
    ]
    await JobQueueRepository(session).add_many(rows)
