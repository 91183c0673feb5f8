"""The statements on jobs: the queue's own (adding, claiming, leasing, completing and
failing jobs), the workspace's job listing and the operator's platform-wide queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Row, String, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.clock import utcnow
from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.jobs import Job, JobState

# Written into the SQL, not bound: only then may a planner use the partial index of queued jobs.
_QUEUED = Job.state == bindparam(None, JobState.QUEUED.value, type_=String(), literal_execute=True)

ClaimedJob = Row[uuid.UUID, str, dict[str, Any], uuid.UUID | None, int, int, int, datetime]


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


class JobQueueRepository:
    """The queue's statements, in the session they are given: the caller's for adding jobs, a
    platform-wide one for claims, leases and outcomes (`rapport.worker.loop`). Every change to
    a claimed job applies only while `owner` (the claim's token) still holds it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: dict[str, Any]) -> None:
        await self.session.execute(insert(Job).values(**row))

    async def add_unique(self, row: dict[str, Any]) -> uuid.UUID:
        """Add the job unless one with its `unique_key` exists; the id of the job with that key."""
        dialect_insert = (
            postgresql_insert
            if self.session.get_bind().dialect.name == "postgresql"
            else sqlite_insert
        )
        await self.session.execute(
            dialect_insert(Job).values(**row).on_conflict_do_nothing(index_elements=["unique_key"])
        )
        existing = await self.session.scalar(
            select(Job.id).where(Job.unique_key == row["unique_key"])
        )
        assert existing is not None
        return existing

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        """One statement for all the rows."""
        await self.session.execute(insert(Job), rows)

    async def claim(
        self,
        owner: str,
        *,
        queues: tuple[str, ...],
        tasks: tuple[str, ...],
        limit: int,
        now: datetime,
        lease: timedelta,
    ) -> list[ClaimedJob]:
        """Lease up to `limit` due jobs of `queues` and `tasks` to `owner`, counting an attempt:
        first those running with an expired lease (their worker died), then queued ones; their
        id, task, payload, tenant_id, attempts, max_attempts, priority and run_at, in no
        particular order. On PostgreSQL rows locked by another claim are skipped.

        Two statements, so that each walks an index in its own order (`ix_jobs_lease`, then
        `ix_jobs_due`) and reads only the rows it takes."""
        scope = (Job.queue.in_(queues), Job.task.in_(tasks))
        expired = and_(Job.state == JobState.RUNNING, Job.locked_until < now, *scope)
        claimed = await self._lease(expired, limit, owner, now, lease)
        if len(claimed) < limit:
            queued = and_(_QUEUED, Job.run_at <= now, *scope)
            claimed += await self._lease(queued, limit - len(claimed), owner, now, lease)
        return claimed

    async def _lease(
        self,
        condition: ColumnElement[bool],
        limit: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> list[ClaimedJob]:
        candidates = (
            select(Job.id)
            .where(condition)
            .order_by(Job.priority.desc(), Job.run_at, Job.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            update(Job)
            .where(Job.id.in_(candidates.scalar_subquery()))
            .values(
                state=JobState.RUNNING,
                locked_by=owner,
                locked_until=now + lease,
                attempts=Job.attempts + 1,
                updated_at=now,
            )
            .returning(
                Job.id,
                Job.task,
                Job.payload,
                Job.tenant_id,
                Job.attempts,
                Job.max_attempts,
                Job.priority,
                Job.run_at,
            )
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.execute(stmt)).all())

    async def hold(
        self, job_ids: Sequence[uuid.UUID], owner: str, now: datetime, lease: timedelta
    ) -> set[uuid.UUID]:
        """Renew the lease of those of the jobs `owner` still holds; their ids. Their rows stay
        locked until the transaction ends (on SQLite the transaction takes the write turn), so
        no other claim can take them meanwhile: the first statement of a batch."""
        held = await self.session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.locked_by == owner)
            .values(locked_until=now + lease)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return set(held.scalars())

    async def complete(self, job_ids: Sequence[uuid.UUID], owner: str, now: datetime) -> int:
        """Mark the jobs succeeded, in one statement; how many `owner` still held (only those
        changed)."""
        if not job_ids:
            return 0
        finished = await self.session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.locked_by == owner)
            .values(
                state=JobState.SUCCEEDED,
                finished_at=now,
                locked_by=None,
                locked_until=None,
                last_error=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        count: int = getattr(finished, "rowcount", len(job_ids))
        return count

    async def extend_lease(self, job_id: uuid.UUID, owner: str, lease: timedelta) -> bool:
        """Hold the job for `lease` from now; False if `owner` no longer holds it."""
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.locked_by == owner)
            .values(locked_until=utcnow() + lease)
        )
        return getattr(result, "rowcount", 1) != 0

    async def requeue(
        self, job_id: uuid.UUID, owner: str, error: str, now: datetime, run_at: datetime
    ) -> None:
        """Release the failed job to run again at `run_at`."""
        await self._release(job_id, owner, error, now, state=JobState.QUEUED, run_at=run_at)

    async def bury(self, job_id: uuid.UUID, owner: str, error: str, now: datetime) -> bool:
        """Release the failed job as dead (kept, visible, retryable by hand); False if `owner`
        no longer holds it (nothing changed)."""
        return await self._release(job_id, owner, error, now, state=JobState.DEAD, finished_at=now)

    async def _release(
        self, job_id: uuid.UUID, owner: str, error: str, now: datetime, **outcome: Any
    ) -> bool:
        values: dict[str, Any] = {
            "locked_by": None,
            "locked_until": None,
            "last_error": error[:4000],
            "updated_at": now,
            **outcome,
        }
        result = await self.session.execute(
            update(Job).where(Job.id == job_id, Job.locked_by == owner).values(**values)
        )
        return getattr(result, "rowcount", 1) != 0
