"""Looking at a workspace's jobs, and giving dead ones another chance."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import Conflict, NotFound
from rapport.kit.pagination import PageRequest
from rapport.models.jobs import Job, JobState
from rapport.worker.repository import JobRepository, PlatformJobRepository


def _requeue(job: Job) -> None:
    if job.state != JobState.DEAD:
        raise Conflict(
            f"Only dead jobs can be retried; this one is {job.state.value}", code="JOB_NOT_DEAD"
        )
    job.state = JobState.QUEUED
    job.attempts = 0
    job.run_at = utcnow()
    job.finished_at = None


class QueueAdmin:
    """The operator's view from the command line: every workspace's jobs and the platform's."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PlatformJobRepository(session)

    async def recent(self, state: JobState | None, limit: int) -> list[Job]:
        return await self.repo.recent(state, limit)

    async def retry(self, job_id: uuid.UUID) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise NotFound("Job not found")
        _requeue(job)
        await self.session.flush()
        return job


class JobService:
    def __init__(self, context: Context) -> None:
        self.repo = JobRepository(context.session)

    async def list(
        self, state: JobState | None, task: str | None, page: PageRequest
    ) -> tuple[list[Job], PageMeta]:
        return await self.repo.page(state, task, page)

    async def get(self, job_id: uuid.UUID) -> Job:
        job: Job | None = await self.repo.get(job_id)
        if job is None:
            raise NotFound("Job not found")
        return job

    async def retry(self, job_id: uuid.UUID) -> Job:
        """Queue a dead job again with a fresh set of attempts."""
        job = await self.get(job_id)
        _requeue(job)
        await self.repo.flush()
        return job
