"""Consumers of the event stream: code that must see every committed event once, in order.

A consumer (`@consumer("webhooks")`) is handed batches of events in `sequence` order, in one
transaction with the advance of its cursor, so its work and its progress commit together: a
process that dies mid-batch leaves the batch to be handed over again. Workers run consumers
(`follow`); a consumer's cursor row is locked while it runs, so one process at a time does.

PostgreSQL hands out sequence numbers at insert and transactions commit in their own order, so
event 101 can be visible before event 100. The cursor therefore stops below a missing
sequence and remembers the events handled above it (`pending`); a missing sequence that stays
missing for `gap_grace` (its transaction rolled back) is skipped. A transaction that holds an
event uncommitted for longer than that would go unseen, which is why the grace is generous
compared with any request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.repository import EventStreamRepository
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models.events import Event

log = logging.getLogger("rapport.events")

StreamHandler = Callable[[AsyncSession, list[Event]], Awaitable[None]]


@dataclass(frozen=True)
class StreamConsumer:
    name: str
    handler: StreamHandler
    batch_size: int = 500


CONSUMERS: dict[str, StreamConsumer] = {}


def consumer(name: str, *, batch_size: int = 500) -> Callable[[StreamHandler], StreamHandler]:
    """Declare a consumer of every event (modules declaring one are listed with the tasks)."""

    def register(handler: StreamHandler) -> StreamHandler:
        CONSUMERS[name] = StreamConsumer(name, handler, batch_size)
        return handler

    return register


async def follow(database: Database, stream: StreamConsumer, gap_grace: timedelta) -> int:
    """Hand the consumer the events it has not seen yet; the number handed over (0 also when
    another process is running this consumer)."""
    async with database.transaction(platform="event stream: every workspace's events") as session:
        repo = EventStreamRepository(session)
        cursor = await repo.lock_cursor(stream.name)
        if cursor is None:
            return 0
        handled = set(cursor.pending)
        events = await repo.after(cursor.position, stream.batch_size + len(handled))
        fresh = [e for e in events if e.sequence not in handled]
        if fresh:
            await stream.handler(session, fresh)
        handled.update(e.sequence for e in fresh)
        position = _advance(cursor.position, events, utcnow() - gap_grace)
        if position != cursor.position or fresh:
            cursor.position = position
            cursor.pending = sorted(s for s in handled if position is None or s > position)
        return len(fresh)


def _advance(position: int | None, events: Iterable[Event], horizon: datetime) -> int | None:
    """The new position: past every event that follows without a gap, and past gaps that are
    older than the horizon (their transactions are long over)."""
    for event in events:
        if position is None or event.sequence == position + 1 or event.occurred_at < horizon:
            position = event.sequence
        else:
            break
    return position
