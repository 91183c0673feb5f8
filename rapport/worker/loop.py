"""The worker: claims due jobs from the queue and runs them, and runs the consumers of the
event stream and the periodic tasks between jobs.

Guarantees: a claimed job is leased to one worker, which extends the lease while it works, so no
job runs twice while its worker is alive, and a job whose worker died is claimed again once the
lease runs out; a handler's database work and the job's completion commit together. Failures
are retried with exponential backoff and jitter up to `max_attempts`, then the job is dead
(kept, visible, retryable by hand). On PostgreSQL several workers claim with
`FOR UPDATE SKIP LOCKED`; on SQLite claims are serialized by the single writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter

from rapport.config import Settings
from rapport.events.stream import CONSUMERS, follow
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.worker.queue import enqueue
from rapport.worker.registry import JobContext, PermanentFailure, Retry, TaskSpec, load_tasks
from rapport.worker.repository import JobQueueRepository

log = logging.getLogger("rapport.worker")

PERIODIC_CHECK_SECONDS = 5.0
_QUEUE = "job queue: claims, leases and retries of every workspace's jobs"


class LeaseLost(Exception):
    """The job was claimed by another worker while this one ran it."""


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
        async with self.database.transaction(platform=_QUEUE) as session:
            # A job of a task this worker does not know waits for a worker that does (deploys).
            rows = await JobQueueRepository(session).claim(
                owner,
                queues=self.queues,
                tasks=tuple(self.tasks),
                limit=limit,
                now=now,
                lease=self.lease,
            )
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
        try:
            async with self.database.transaction(**_scope(job)) as session:
                context = JobContext(job.id, job.tenant_id, job.attempts, session, self.settings)
                await spec.handler(context, dict(job.payload))
                if not await JobQueueRepository(session).complete(job.id, job.owner):
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
                    held = await JobQueueRepository(session).extend_lease(
                        job.id, job.owner, self.lease
                    )
            except Exception:
                log.warning("lease extension failed; retrying", extra={"jobId": str(job.id)})
                pause = self.lease.total_seconds() / 6
                continue
            if not held:
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
        if permanent or spec is None or job.attempts >= job.max_attempts:
            log.error("job is dead", extra={"jobId": str(job.id), "task": job.task, "error": error})
            await self._bury(job, spec, error, now)
            return
        wait = after if after is not None else spec.backoff(job.attempts)
        async with self.database.transaction(platform=_QUEUE) as session:
            await JobQueueRepository(session).requeue(
                job.id, job.owner, error, now, now + timedelta(seconds=wait)
            )

    async def _bury(self, job: Claimed, spec: TaskSpec | None, error: str, now: datetime) -> None:
        """Mark the job dead, and run its task's `on_dead` in the same transaction (in the
        job's workspace) while this claim still holds the job."""
        if spec is not None and spec.on_dead is not None:
            try:
                async with self.database.transaction(**_scope(job)) as session:
                    if await JobQueueRepository(session).bury(job.id, job.owner, error, now):
                        context = JobContext(
                            job.id, job.tenant_id, job.attempts, session, self.settings
                        )
                        await spec.on_dead(context, dict(job.payload), error)
                return
            except Exception:
                log.exception("on_dead failed; burying the job alone", extra={"jobId": str(job.id)})
        async with self.database.transaction(platform=_QUEUE) as session:
            await JobQueueRepository(session).bury(job.id, job.owner, error, now)

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


def _scope(job: Claimed) -> dict[str, Any]:
    """The session a job's own work runs in: its workspace's, or platform-wide for a platform
    job."""
    if job.tenant_id is not None:
        return {"workspace": job.tenant_id}
    return {"platform": f"platform task {job.task}"}
