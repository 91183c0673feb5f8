"""Queries on jobs outside the worker's claim loop (which lives in queue.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models import Job, JobState


class JobRepository(Repository[Any]):
    """Only the workspace's own jobs; the platform's (tenant-less) jobs are never listed."""

    model = Job
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Job.created_at,
        "runAt": Job.run_at,
        "updatedAt": Job.updated_at,
    }

    async def page(
        self, state: JobState | None, task: str | None, request: PageRequest
    ) -> tuple[list[Job], PageMeta]:
        stmt = self.select()
        if state is not None:
            stmt = stmt.where(Job.state == state)
        if task:
            stmt = stmt.where(Job.task == task)
        return await paginate(self.session, stmt, request, self.sort_columns, Job.id)


class PlatformJobRepository:
    """Every workspace's jobs and the platform's own: the operator's command line and the
    housekeeping task, never an API route."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent(self, state: JobState | None, limit: int) -> list[Job]:
        stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(Job.state == state)
        return list((await self.session.execute(stmt)).scalars())

    async def get(self, job_id: uuid.UUID) -> Job | None:
        return await self.session.get(Job, job_id)

    async def delete_succeeded_before(self, moment: datetime) -> None:
        await self.session.execute(
            delete(Job).where(Job.state == JobState.SUCCEEDED, Job.finished_at < moment)
        )
