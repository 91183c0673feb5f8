"""A durable job queue in the application's own database.

Guarantees: a job is enqueued in the caller's transaction (it exists exactly when the caller's
work was committed); a claimed job is leased to one worker, which extends the lease while it
works, so no job runs twice while its worker is alive, and a job whose worker died is claimed
again once the lease runs out; a handler's database work and the job's completion commit
together. Failures are retried with exponential backoff and jitter up to `max_attempts`, then
the job is dead (kept, visible, retryable by hand). On PostgreSQL several workers claim with
`FOR UPDATE SKIP LOCKED`; on SQLite claims are serialized by the single writer.

Tasks are declared with `@task(...)` in each domain's `tasks.py` (with `schedule=` for periodic
ones); `TASK_MODULES` lists those modules so a worker knows them all. Those modules also declare
the consumers of the event stream (`rapport.events.stream`), which workers run between jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.config import Settings
from rapport.events.stream import CONSUMERS, follow
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.models import Job, JobState

log = logging.getLogger("rapport.worker")

TASK_MODULES = ("rapport.worker.tasks", "rapport.webhooks.tasks")
PERIODIC_CHECK_SECONDS = 5.0
_QUEUE = "job queue: claims, leases and retries of every workspace's jobs"


@dataclass(frozen=True)
class JobContext:
    """What a handler gets. A workspace's job runs in a session bound to that workspace; a
    platform job (no workspace) in a platform-wide one."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID | None
    attempt: int
    session: AsyncSession
    settings: Settings

    @property
    def workspace(self) -> Context:
        """The job's workspace as a service context (acting as the system)."""
        if self.tenant_id is None:
            raise ValueError("A platform job has no workspace")
        return Context(self.session, self.tenant_id)


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    handler: Handler
    queue: str = "default"
    max_attempts: int = 10
    backoff_base: float = 2.0
    backoff_cap: float = 3600.0
    schedule: str | None = None

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number `attempt`: exponential, capped, with jitter."""
        delay: float = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)


REGISTRY: dict[str, TaskSpec] = {}


def task(
    name: str,
    *,
    queue: str = "default",
    max_attempts: int = 10,
    backoff_base: float = 2.0,
    backoff_cap: float = 3600.0,
    schedule: str | None = None,
) -> Callable[[Handler], Handler]:
    """Declare a task; with `schedule` (cron syntax, UTC) it is also enqueued periodically."""
    if schedule is not None and not croniter.is_valid(schedule):
        raise ValueError(f"{name}: {schedule!r} is not a cron schedule")

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = TaskSpec(
            name, handler, queue, max_attempts, backoff_base, backoff_cap, schedule
        )
        return handler

    return register


def load_tasks(extra_modules: tuple[str, ...] = ()) -> dict[str, TaskSpec]:
    for module in (*TASK_MODULES, *extra_modules):
        importlib.import_module(module)
    return REGISTRY


class Retry(Exception):
    """Raised by a handler to be retried after `after` seconds (or the task's backoff)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class PermanentFailure(Exception):
    """Raised by a handler for a failure no retry can fix: the job goes dead at once."""


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
    if unique_key is None:
        await session.execute(insert(Job).values(**row))
        job_id: uuid.UUID = row["id"]
        return job_id
    dialect_insert = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    await session.execute(
        dialect_insert(Job).values(**row).on_conflict_do_nothing(index_elements=["unique_key"])
    )
    existing = await session.scalar(select(Job.id).where(Job.unique_key == row["unique_key"]))
    assert existing is not None
    return existing


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
    await session.execute(insert(Job), rows)


@dataclass(frozen=True)
class Claimed:
    owner: str
    id: uuid.UUID
    task: str
    payload: dict[str, Any]
    tenant_id: uuid.UUID | None
    attempts: int
    max_attempts: int
    priority: int
    run_at: datetime


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims due jobs of its queues and runs up to `concurrency` at a time."""

    def __init__(
        self,
        database: Database,
        *,
        queues: tuple[str, ...] = ("default",),
        concurrency: int = 4,
        lease_seconds: float = 60.0,
        poll_seconds: float = 0.5,
        name: str | None = None,
        task_modules: tuple[str, ...] = (),
        settings: Settings | None = None,
    ) -> None:
        self.database = database
        self.settings = settings or Settings()
        self.queues = queues
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.name = name or worker_name()
        self.tasks = load_tasks(task_modules)
        self._next_schedule_check = 0.0
        self._next_follow = 0.0
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish the jobs in hand."""
        log.info("worker started", extra={"worker": self.name, "queues": list(self.queues)})
        while not stop.is_set():
            free = self.concurrency - len(self._running)
            if free < max(1, self.concurrency // 2):
                # Claim in batches: wait until at least half the slots are free.
                await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                await self.schedule_periodic()
                await self.follow_streams()
                claimed = await self.claim(free)
            except Exception:
                log.exception("worker loop failed; retrying")
                claimed = []
            for job in claimed:
                runner = asyncio.create_task(self.execute(job))
                self._running.add(runner)
                runner.add_done_callback(self._running.discard)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        log.info("worker stopped", extra={"worker": self.name})

    async def run_once(self, limit: int = 100) -> int:
        """Hand new events to the stream consumers, then claim and run what is due now, one
        after another; the number of jobs run."""
        await self.follow_streams(force=True)
        claimed = await self.claim(limit)
        for job in claimed:
            await self.execute(job)
        return len(claimed)

    async def claim(self, limit: int) -> list[Claimed]:
        if limit <= 0:
            return []
        # Unique per claim, so a run whose lease was lost (even to this same worker) can
        # neither extend nor complete the job.
        owner = f"{self.name}/{uuid.uuid4().hex[:8]}"
        now = utcnow()
        due = or_(
            and_(Job.state == JobState.QUEUED, Job.run_at <= now),
            and_(Job.state == JobState.RUNNING, Job.locked_until < now),
        )
        # A job of a task this worker does not know waits for a worker that does (deploys).
        candidates = (
            select(Job.id)
            .where(due, Job.queue.in_(self.queues), Job.task.in_(tuple(self.tasks)))
            .order_by(Job.priority.desc(), Job.run_at, Job.id)
            .limit(limit)
        )
        if self.database.dialect == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            update(Job)
            .where(Job.id.in_(candidates.scalar_subquery()))
            .values(
                state=JobState.RUNNING,
                locked_by=owner,
                locked_until=now + self.lease,
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
        async with self.database.transaction(platform=_QUEUE) as session:
            rows = (await session.execute(stmt)).all()
        # RETURNING keeps no order: run the most urgent first.
        claimed = (Claimed(owner, *row) for row in rows)
        return sorted(claimed, key=lambda c: (-c.priority, c.run_at))

    async def execute(self, job: Claimed) -> None:
        spec = self.tasks.get(job.task)
        if spec is None:
            await self._fail(job, None, f"unknown task {job.task!r}", permanent=True)
            return
        if job.attempts > job.max_attempts:
            await self._fail(job, spec, "attempts exhausted (the lease ran out)", permanent=True)
            return
        heartbeat = asyncio.create_task(self._heartbeat(job))
        scope: dict[str, Any] = (
            {"workspace": job.tenant_id}
            if job.tenant_id is not None
            else {"platform": f"platform task {job.task}"}
        )
        try:
            async with self.database.transaction(**scope) as session:
                context = JobContext(job.id, job.tenant_id, job.attempts, session, self.settings)
                await spec.handler(context, dict(job.payload))
                finished = await session.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.locked_by == job.owner)
                    .values(
                        state=JobState.SUCCEEDED,
                        finished_at=utcnow(),
                        locked_by=None,
                        locked_until=None,
                        last_error=None,
                        updated_at=utcnow(),
                    )
                )
                if getattr(finished, "rowcount", 1) == 0:
                    raise LeaseLost(job.id)
        except LeaseLost:
            log.warning("lease lost; the work was rolled back", extra={"jobId": str(job.id)})
        except Retry as retry:
            await self._fail(job, spec, str(retry) or "retry requested", after=retry.after)
        except PermanentFailure as exc:
            await self._fail(job, spec, f"{type(exc).__name__}: {exc}", permanent=True)
        except Exception as exc:
            log.warning("job failed", extra={"jobId": str(job.id), "task": job.task}, exc_info=True)
            await self._fail(job, spec, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, job: Claimed) -> None:
        """Extend the lease while the handler runs; a failed extension is retried sooner, and
        a lost lease ends the heartbeat (the run's completion will then be refused)."""
        pause = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(pause)
            try:
                async with self.database.transaction(platform=_QUEUE) as session:
                    result = await session.execute(
                        update(Job)
                        .where(Job.id == job.id, Job.locked_by == job.owner)
                        .values(locked_until=utcnow() + self.lease)
                    )
            except Exception:
                log.warning("lease extension failed; retrying", extra={"jobId": str(job.id)})
                pause = self.lease.total_seconds() / 6
                continue
            if getattr(result, "rowcount", 1) == 0:
                return
            pause = self.lease.total_seconds() / 3

    async def _fail(
        self,
        job: Claimed,
        spec: TaskSpec | None,
        error: str,
        *,
        permanent: bool = False,
        after: float | None = None,
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "locked_by": None,
            "locked_until": None,
            "last_error": error[:4000],
            "updated_at": now,
        }
        if permanent or spec is None or job.attempts >= job.max_attempts:
            values.update(state=JobState.DEAD, finished_at=now)
            log.error("job is dead", extra={"jobId": str(job.id), "task": job.task, "error": error})
        else:
            wait = after if after is not None else spec.backoff(job.attempts)
            values.update(state=JobState.QUEUED, run_at=now + timedelta(seconds=wait))
        async with self.database.transaction(platform=_QUEUE) as session:
            await session.execute(
                update(Job).where(Job.id == job.id, Job.locked_by == job.owner).values(**values)
            )

    async def follow_streams(self, *, force: bool = False) -> int:
        """Run each consumer of the event stream over the events it has not seen (at most every
        `poll_seconds` unless forced); the number of events handed over."""
        clock = asyncio.get_running_loop().time()
        if not force and clock < self._next_follow:
            return 0
        self._next_follow = clock + self.poll_seconds
        grace = timedelta(seconds=self.settings.event_gap_grace_seconds)
        handed = 0
        for stream in CONSUMERS.values():
            handed += await follow(self.database, stream, grace)
        return handed

    async def schedule_periodic(self, *, force: bool = False) -> None:
        """Enqueue each periodic task's latest due run once, whichever worker gets there.
        Checked every few seconds at most: schedules are by the minute."""
        clock = asyncio.get_running_loop().time()
        if not force and clock < self._next_schedule_check:
            return
        self._next_schedule_check = clock + PERIODIC_CHECK_SECONDS
        now = utcnow()
        due = [spec for spec in self.tasks.values() if spec.schedule and spec.queue in self.queues]
        if not due:
            return
        async with self.database.transaction(platform=_QUEUE) as session:
            for spec in due:
                assert spec.schedule is not None
                slot = croniter(spec.schedule, now).get_prev(datetime)
                await enqueue(
                    session, spec.name, unique_key=f"periodic:{spec.name}:{slot.isoformat()}"
                )


class LeaseLost(Exception):
    """The job was claimed by another worker while this one ran it."""
