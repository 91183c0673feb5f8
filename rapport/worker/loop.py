"""The worker: claims due jobs from the queue and runs them, and runs the consumers of the
event stream and the periodic tasks between jobs.

Guarantees: a claimed job is leased to one claim (its owner token), so no job runs twice while
its worker is alive, and a job whose worker died is claimed again once the lease runs out; a
handler's database work and the job's completion commit together, so a worker killed at any
point leaves each job either done with its effects or not done without them. Failures are
retried with exponential backoff and jitter up to `max_attempts`, then the job is dead (kept,
visible, retryable by hand). On PostgreSQL several workers claim with `FOR UPDATE SKIP LOCKED`;
on SQLite claims are serialized by the single writer.

A job runs in one of two ways, chosen by its task:

- In a batch (`@task(..., batch=True)`: handlers that do quick database work only). The jobs of
  one claim (up to `batch_size`) run one after another in a single transaction. Its first
  statement holds them (renews their leases and keeps their rows locked until it ends; on
  SQLite it takes the process's write turn), so no other claim can take them meanwhile and
  they need no heartbeat. Each handler gets a session of its own in a savepoint: a failing job
  rolls back only its own work and is requeued or buried in the same transaction; one UPDATE
  marks the others succeeded and one COMMIT makes the whole batch durable. A worker killed
  mid-batch commits none of it: every job of the batch is claimed again after its lease, and
  no committed work is ever redone. If the batch's transaction itself fails, its jobs run
  again one at a time.
- Alone (the default, and the only way for a handler that waits on the network, such as a
  webhook delivery): the handler runs in a transaction of its own that also completes the job
  (only if the claim still holds it), while a heartbeat extends the lease; a failure rolls it
  back and is recorded in a second transaction. Batching such a job would keep a transaction
  open (its row locks, and on SQLite every API write waiting) across network calls.

The rule: declare `batch=True` only for a handler that does no network I/O and no waiting,
because everything it does is inside a transaction shared with its neighbours, which already
holds the write turn on SQLite. A handler that must talk to the outside world runs alone.
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
from sqlalchemy.ext.asyncio import AsyncSession

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


@dataclass(frozen=True)
class Failure:
    """What becomes of a failed run: queued again at `retry_at`, or dead if it is None."""

    error: str
    retry_at: datetime | None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims due jobs of its queues and keeps up to `concurrency` in hand, running the jobs
    of batched tasks `batch_size` at a time and every other job alone (module docstring)."""

    def __init__(
        self,
        database: Database,
        *,
        queues: tuple[str, ...] = ("default",),
        concurrency: int = 4,
        batch_size: int = 16,
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
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.name = name or worker_name()
        self.tasks = load_tasks(task_modules)
        self._next_schedule_check = 0.0
        self._next_follow = 0.0
        self._running: set[asyncio.Task[None]] = set()
        self._in_hand = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish the jobs in hand."""
        log.info("worker started", extra={"worker": self.name, "queues": list(self.queues)})
        while not stop.is_set():
            free = self.concurrency - self._in_hand
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
            for unit in self.plan(claimed):
                self._start(unit)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        log.info("worker stopped", extra={"worker": self.name})

    def _start(self, unit: list[Claimed]) -> None:
        runner = asyncio.create_task(self.carry_out(unit))
        self._running.add(runner)
        self._in_hand += len(unit)

        def done(finished: asyncio.Task[None]) -> None:
            self._running.discard(finished)
            self._in_hand -= len(unit)

        runner.add_done_callback(done)

    async def run_once(self, limit: int = 100) -> int:
        """Hand new events to the stream consumers, then claim and run what is due now, one
        batch or job after another; the number of jobs run."""
        await self.follow_streams(force=True)
        claimed = await self.claim(limit)
        for unit in self.plan(claimed):
            await self.carry_out(unit)
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

    def plan(self, claimed: list[Claimed]) -> list[list[Claimed]]:
        """The units of work of one claim, most urgent first: the jobs of batched tasks in
        batches of up to `batch_size`, every other job alone."""
        units: list[list[Claimed]] = []
        batch: list[Claimed] | None = None
        for job in claimed:
            if not self._batched(job):
                units.append([job])
                continue
            if batch is None or len(batch) >= self.batch_size:
                batch = []
                units.append(batch)
            batch.append(job)
        return units

    def _batched(self, job: Claimed) -> bool:
        spec = self.tasks.get(job.task)
        return spec is not None and spec.batch

    async def carry_out(self, unit: list[Claimed]) -> None:
        """Run a unit of `plan()`. What fails to be recorded is left to the jobs' leases."""
        try:
            if self._batched(unit[0]):
                await self.execute_batch(unit)
            else:
                await self.execute(unit[0])
        except Exception:
            log.exception(
                "could not record the outcome; the jobs run again after their lease",
                extra={"jobIds": [str(job.id) for job in unit]},
            )

    async def execute_batch(self, jobs: list[Claimed]) -> None:
        """Run jobs of one claim in one transaction, each in a savepoint (module docstring)."""
        owner = jobs[0].owner
        try:
            async with self.database.transaction(platform=_QUEUE) as session:
                queue = JobQueueRepository(session)
                held = await queue.hold([job.id for job in jobs], owner, utcnow(), self.lease)
                succeeded = []
                for job in jobs:
                    if job.id not in held:
                        log.warning("lease lost before the job ran", extra={"jobId": str(job.id)})
                        continue
                    spec = self.tasks.get(job.task)
                    failure = _refusal(job, spec)
                    if failure is None and spec is not None:
                        failure = await self._run_in_savepoint(session, job, spec)
                    if failure is None:
                        succeeded.append(job.id)
                    else:
                        await self._settle(session, job, spec, failure)
                if await queue.complete(succeeded, owner, utcnow()) != len(succeeded):
                    raise LeaseLost(owner)  # cannot happen while the rows are held
        except Exception:
            log.exception("the batch failed; its jobs run one at a time")
            for job in jobs:
                await self.execute(job)

    async def _run_in_savepoint(
        self, session: AsyncSession, job: Claimed, spec: TaskSpec
    ) -> Failure | None:
        try:
            async with self.database.savepoint(session, **_scope(job)) as own:
                context = JobContext(
                    job.id, job.tenant_id, job.attempts, own, self.settings, self.database
                )
                await spec.handler(context, dict(job.payload))
        except Exception as exc:
            return self._failure(job, spec, exc)
        return None

    async def execute(self, job: Claimed) -> None:
        """Run one job alone, in a transaction that also completes it (module docstring)."""
        spec = self.tasks.get(job.task)
        refused = _refusal(job, spec)
        if refused is not None:
            await self._settle_alone(job, spec, refused)
            return
        assert spec is not None  # an unknown task is refused
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            async with self.database.transaction(**_scope(job)) as session:
                context = JobContext(
                    job.id, job.tenant_id, job.attempts, session, self.settings, self.database
                )
                await spec.handler(context, dict(job.payload))
                if await JobQueueRepository(session).complete([job.id], job.owner, utcnow()) != 1:
                    raise LeaseLost(job.id)
        except LeaseLost:
            log.warning("lease lost; the work was rolled back", extra={"jobId": str(job.id)})
        except Exception as exc:
            await self._settle_alone(job, spec, self._failure(job, spec, exc))
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

    def _failure(self, job: Claimed, spec: TaskSpec, exc: Exception) -> Failure:
        """What a handler's exception makes of the job: retried after its backoff (or the
        `Retry`'s delay) while attempts remain, else dead."""
        after = None
        permanent = False
        if isinstance(exc, Retry):
            error = str(exc) or "retry requested"
            after = exc.after
        elif isinstance(exc, PermanentFailure):
            error = f"{type(exc).__name__}: {exc}"
            permanent = True
        else:
            log.warning("job failed", extra={"jobId": str(job.id), "task": job.task}, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
        if permanent or job.attempts >= job.max_attempts:
            return Failure(error, None)
        wait = after if after is not None else spec.backoff(job.attempts)
        return Failure(error, utcnow() + timedelta(seconds=wait))

    async def _settle_alone(self, job: Claimed, spec: TaskSpec | None, failure: Failure) -> None:
        """Record a failure in a transaction of its own, if this claim still holds the job."""
        async with self.database.transaction(platform=_QUEUE) as session:
            if await JobQueueRepository(session).hold([job.id], job.owner, utcnow(), self.lease):
                await self._settle(session, job, spec, failure)

    async def _settle(
        self, session: AsyncSession, job: Claimed, spec: TaskSpec | None, failure: Failure
    ) -> None:
        """Requeue or bury the failed job in `session`'s transaction, which holds it. A dead
        job's `on_dead` runs there too (in the job's workspace, in a savepoint); if it fails,
        the job is buried alone."""
        queue = JobQueueRepository(session)
        now = utcnow()
        if failure.retry_at is not None:
            await queue.requeue(job.id, job.owner, failure.error, now, failure.retry_at)
            return
        log.error(
            "job is dead", extra={"jobId": str(job.id), "task": job.task, "error": failure.error}
        )
        if spec is not None and spec.on_dead is not None:
            try:
                async with self.database.savepoint(session, **_scope(job)) as own:
                    await JobQueueRepository(own).bury(job.id, job.owner, failure.error, now)
                    context = JobContext(
                        job.id, job.tenant_id, job.attempts, own, self.settings, self.database
                    )
                    await spec.on_dead(context, dict(job.payload), failure.error)
                return
            except Exception:
                log.exception("on_dead failed; burying the job alone", extra={"jobId": str(job.id)})
        await queue.bury(job.id, job.owner, failure.error, now)

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


def _refusal(job: Claimed, spec: TaskSpec | None) -> Failure | None:
    """Why a claimed job cannot run at all (it is dead at once), or None."""
    if spec is None:
        return Failure(f"unknown task {job.task!r}", None)
    if job.attempts > job.max_attempts:
        return Failure("attempts exhausted (the lease ran out)", None)
    return None


def _scope(job: Claimed) -> dict[str, Any]:
    """The session a job's own work runs in: its workspace's, or platform-wide for a platform
    job."""
    if job.tenant_id is not None:
        return {"workspace": job.tenant_id}
    return {"platform": f"platform task {job.task}"}
