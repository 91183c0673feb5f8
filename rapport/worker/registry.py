"""The tasks a worker can run, and what their handlers get and may raise.

Tasks are declared with `@task(...)` in each domain's `tasks.py` (with `schedule=` for periodic
ones), which its manifest lists (`task_modules`), so a worker knows them all
(`rapport.domains.TASK_MODULES`). Those modules also declare the consumers of the event stream
(`rapport.events.stream`), which workers run between jobs.
"""

from __future__ import annotations

import importlib
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from croniter import croniter
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.config import Settings
from rapport.kit.context import Context
from rapport.kit.db import Database


@dataclass(frozen=True)
class JobContext:
    """What a handler gets. A workspace's job runs in a session bound to that workspace; a
    platform job (no workspace) in a platform-wide one. `attempt` counts the job's claims,
    this one included: a run whose worker died, or whose transaction failed, counts too.
    `database` is for work that must be seen before the job ends (the progress of a long
    job), in short transactions of its own."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID | None
    attempt: int
    session: AsyncSession
    settings: Settings
    database: Database

    @property
    def workspace(self) -> Context:
        """The job's workspace as a service context (acting as the system)."""
        if self.tenant_id is None:
            raise ValueError("A platform job has no workspace")
        return Context(self.session, self.tenant_id)


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
DeadHandler = Callable[[JobContext, dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    handler: Handler
    queue: str = "default"
    max_attempts: int = 10
    backoff_base: float = 2.0
    backoff_cap: float = 3600.0
    schedule: str | None = None
    on_dead: DeadHandler | None = None
    batch: bool = False

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
    on_dead: DeadHandler | None = None,
    batch: bool = False,
) -> Callable[[Handler], Handler]:
    """Declare a task; with `schedule` (cron syntax, UTC) it is also enqueued periodically.
    `on_dead(context, payload, error)` runs when a job of the task goes dead, in the
    transaction that marks it so, to release what the job held (the job is buried anyway if
    it fails). `batch=True` is for handlers that only do quick database work (no network, no
    sleeping): their jobs run together, one transaction per batch (`rapport.worker.loop`)."""
    if schedule is not None and not croniter.is_valid(schedule):
        raise ValueError(f"{name}: {schedule!r} is not a cron schedule")

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = TaskSpec(
            name, handler, queue, max_attempts, backoff_base, backoff_cap, schedule, on_dead, batch
        )
        return handler

    return register


def load_tasks(modules: tuple[str, ...]) -> dict[str, TaskSpec]:
    """Import the modules declaring tasks (and stream consumers); every task known so far."""
    for module in modules:
        importlib.import_module(module)
    return REGISTRY


class Retry(Exception):
    """Raised by a handler to be retried after `after` seconds (or the task's backoff)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class PermanentFailure(Exception):
    """Raised by a handler for a failure no retry can fix: the job goes dead at once."""
