"""Queries on a workspace's jobs (the worker's own claims live in queue.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import ScopedRepository
from rapport.models import Job, JobState


class JobRepository(ScopedRepository[Any]):
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
