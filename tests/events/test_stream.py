"""The event stream's consumers: every committed event handed over once, in `sequence` order,
in the transaction that advances the consumer's cursor; a missing sequence holds the cursor
(the events handled above it are remembered) until it appears or outlives the grace."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.stream import StreamConsumer, _advance, follow
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import Event, EventCursor, Tenant
from tests.helpers import EVERY_WORKSPACE, Workspace

pytestmark = pytest.mark.usefixtures("app")

GRACE = timedelta(seconds=60)


class Recorder:
    """A handler that notes the sequences it was handed, one list per batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, session: AsyncSession, events: list[Event]) -> None:
        self.batches.append([e.sequence for e in events])

    @property
    def handed(self) -> list[int]:
        return [s for batch in self.batches for s in batch]


def new_event(
    workspace: Workspace, *, sequence: int | None = None, occurred_at: datetime | None = None
) -> Event:
    event = Event(
        tenant_id=workspace.id,
        type="contact.created",
        resource_type="contact",
        resource_id=uuid.uuid4(),
        actor_type="system",
        data={},
    )
    if sequence is not None:
        event.sequence = sequence
    if occurred_at is not None:
        event.occurred_at = occurred_at
    return event


async def add_events(database: Database, workspace: Workspace, count: int) -> list[int]:
    """`count` events numbered by the database, committed together; their sequences."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        events = [new_event(workspace) for _ in range(count)]
        session.add_all(events)
        await session.flush()
        return [e.sequence for e in events]


async def add_at(
    database: Database,
    workspace: Workspace,
    sequences: Iterable[int],
    occurred_at: datetime | None = None,
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        for sequence in sequences:
            session.add(new_event(workspace, sequence=sequence, occurred_at=occurred_at))


async def unused_base(database: Database) -> int:
    """A sequence number well above any the database has handed out or will soon."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        if database.dialect == "postgresql":
            issued = await session.scalar(
                text("SELECT nextval(pg_get_serial_sequence('events', 'sequence'))")
            )
        else:
            issued = await session.scalar(select(func.max(Event.sequence)))
    return int(issued or 0) + 1000


async def cursor_of(database: Database, name: str) -> EventCursor | None:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return await session.get(EventCursor, name)


async def position_of(database: Database, name: str) -> tuple[int | None, list[int]]:
    cursor = await cursor_of(database, name)
    assert cursor is not None
    return cursor.position, cursor.pending


async def tenant_names(database: Database) -> set[str]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return set((await session.execute(select(Tenant.name))).scalars())


async def test_every_event_is_handed_once_in_order_across_follows(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-order", recorder, batch_size=2)
    first = await add_events(database, workspace, 3)
    first += await add_events(database, workspace, 2)

    assert await follow(database, stream, GRACE) == 2
    assert await follow(database, stream, GRACE) == 2
    assert await position_of(database, "test-order") == (first[3], [])
    assert await follow(database, stream, GRACE) == 1
    assert await follow(database, stream, GRACE) == 0
    assert recorder.batches == [first[0:2], first[2:4], first[4:5]]

    later = await add_events(database, workspace, 3)
    assert await follow(database, stream, GRACE) == 2
    assert await follow(database, stream, GRACE) == 1
    assert await follow(database, stream, GRACE) == 0

    assert recorder.handed == first + later
    assert recorder.handed == sorted(set(recorder.handed))
    assert await position_of(database, "test-order") == (later[-1], [])


async def test_a_backlog_within_the_batch_size_is_handed_in_one_batch(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-one-batch", recorder, batch_size=10)
    sequences = await add_events(database, workspace, 4)
    assert await follow(database, stream, GRACE) == 4
    assert recorder.batches == [sequences]
    assert await position_of(database, "test-one-batch") == (sequences[-1], [])


async def test_a_missing_sequence_holds_the_cursor_and_is_handed_when_it_commits(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-gap", recorder, batch_size=10)
    n = await unused_base(database)
    await add_at(database, workspace, [n + 1, n + 3])

    assert await follow(database, stream, GRACE) == 2
    assert recorder.batches == [[n + 1, n + 3]]
    assert await position_of(database, "test-gap") == (n + 1, [n + 3])

    # Nothing new: the held cursor hands nothing twice and stays as it was.
    assert await follow(database, stream, GRACE) == 0
    assert await position_of(database, "test-gap") == (n + 1, [n + 3])

    await add_at(database, workspace, [n + 2])
    assert await follow(database, stream, GRACE) == 1
    assert recorder.batches == [[n + 1, n + 3], [n + 2]]
    assert await position_of(database, "test-gap") == (n + 3, [])

    await add_at(database, workspace, [n + 4])
    assert await follow(database, stream, GRACE) == 1
    assert recorder.handed == [n + 1, n + 3, n + 2, n + 4]
    assert await position_of(database, "test-gap") == (n + 4, [])


async def test_events_handed_above_a_gap_are_not_counted_against_the_batch(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-gap-batch", recorder, batch_size=1)
    n = await unused_base(database)
    await add_at(database, workspace, [n + 1, n + 3])
    assert await follow(database, stream, GRACE) == 1
    assert await follow(database, stream, GRACE) == 1
    assert await position_of(database, "test-gap-batch") == (n + 1, [n + 3])

    await add_at(database, workspace, [n + 2, n + 4])
    assert await follow(database, stream, GRACE) == 1
    assert await position_of(database, "test-gap-batch") == (n + 3, [])
    assert await follow(database, stream, GRACE) == 1
    assert await follow(database, stream, GRACE) == 0
    assert recorder.batches == [[n + 1], [n + 3], [n + 2], [n + 4]]
    assert await position_of(database, "test-gap-batch") == (n + 4, [])


async def test_a_gap_older_than_the_grace_is_skipped(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-old-gap", recorder, batch_size=10)
    n = await unused_base(database)
    await add_at(database, workspace, [n + 1])
    await add_at(database, workspace, [n + 3], occurred_at=utcnow() - timedelta(hours=1))

    assert await follow(database, stream, timedelta(seconds=60)) == 2
    assert recorder.handed == [n + 1, n + 3]
    assert await position_of(database, "test-old-gap") == (n + 3, [])

    # Should the skipped sequence commit after all, it is not handed (the documented price).
    await add_at(database, workspace, [n + 2])
    assert await follow(database, stream, timedelta(seconds=60)) == 0


async def test_a_gap_younger_than_the_grace_is_kept_until_it_ages(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-young-gap", recorder, batch_size=10)
    n = await unused_base(database)
    await add_at(database, workspace, [n + 1])
    await add_at(database, workspace, [n + 3], occurred_at=utcnow() - timedelta(seconds=10))

    assert await follow(database, stream, timedelta(seconds=60)) == 2
    assert await position_of(database, "test-young-gap") == (n + 1, [n + 3])
    # An hour-old gap is still young under a two-hour grace.
    await add_at(database, workspace, [n + 5], occurred_at=utcnow() - timedelta(hours=1))
    assert await follow(database, stream, timedelta(hours=2)) == 1
    assert await position_of(database, "test-young-gap") == (n + 1, [n + 3, n + 5])

    # With a shorter grace both gaps are old (n + 3 and n + 5 occurred long enough ago).
    assert await follow(database, stream, timedelta(seconds=5)) == 0
    assert await position_of(database, "test-young-gap") == (n + 5, [])
    assert recorder.handed == [n + 1, n + 3, n + 5]


async def test_a_failing_handler_advances_nothing_and_its_writes_roll_back(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    first = await add_events(database, workspace, 2)
    assert await follow(database, StreamConsumer("test-failing", recorder), GRACE) == 2

    later = await add_events(database, workspace, 3)
    attempts: list[list[int]] = []

    async def fail(session: AsyncSession, events: list[Event]) -> None:
        attempts.append([e.sequence for e in events])
        session.add(Tenant(name="written by the failing handler"))
        await session.flush()
        raise RuntimeError("the handler failed")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="the handler failed"):
            await follow(database, StreamConsumer("test-failing", fail), GRACE)
    assert attempts == [later, later]
    assert await position_of(database, "test-failing") == (first[-1], [])
    assert "written by the failing handler" not in await tenant_names(database)

    assert await follow(database, StreamConsumer("test-failing", recorder), GRACE) == 3
    assert recorder.batches == [first, later]
    assert await position_of(database, "test-failing") == (later[-1], [])


async def test_a_failing_first_follow_leaves_no_cursor(
    database: Database, workspace: Workspace
) -> None:
    sequences = await add_events(database, workspace, 2)

    async def fail(session: AsyncSession, events: list[Event]) -> None:
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await follow(database, StreamConsumer("test-failing-first", fail), GRACE)
    assert await cursor_of(database, "test-failing-first") is None

    recorder = Recorder()
    assert await follow(database, StreamConsumer("test-failing-first", recorder), GRACE) == 2
    assert recorder.batches == [sequences]


async def test_the_handlers_work_commits_with_the_cursor_advance(
    database: Database, workspace: Workspace
) -> None:
    sequences = await add_events(database, workspace, 2)

    async def write(session: AsyncSession, events: list[Event]) -> None:
        for event in events:
            session.add(Tenant(name=f"made for event {event.sequence}"))

    assert await follow(database, StreamConsumer("test-writes", write), GRACE) == 2
    assert {f"made for event {s}" for s in sequences} <= await tenant_names(database)
    assert await position_of(database, "test-writes") == (sequences[-1], [])


async def test_a_second_concurrent_follow_hands_nothing(
    database: Database, workspace: Workspace
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("on SQLite a second follow waits for the single writer instead")
    recorder = Recorder()
    name = "test-concurrent"
    await add_events(database, workspace, 1)
    assert await follow(database, StreamConsumer(name, recorder), GRACE) == 1
    sequences = await add_events(database, workspace, 3)

    inside = asyncio.Event()
    release = asyncio.Event()

    async def slow(session: AsyncSession, events: list[Event]) -> None:
        await recorder(session, events)
        inside.set()
        await release.wait()

    first = asyncio.create_task(follow(database, StreamConsumer(name, slow), GRACE))
    try:
        await asyncio.wait_for(inside.wait(), timeout=10)
        second = await asyncio.wait_for(
            follow(database, StreamConsumer(name, recorder), GRACE), timeout=10
        )
    finally:
        release.set()
    assert second == 0
    assert await first == 3

    assert await follow(database, StreamConsumer(name, recorder), GRACE) == 0
    assert recorder.batches[1:] == [sequences]
    assert await position_of(database, name) == (sequences[-1], [])


async def test_a_second_concurrent_first_follow_does_not_wait(
    database: Database, workspace: Workspace
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("on SQLite a second follow waits for the single writer instead")
    recorder = Recorder()
    name = "test-concurrent-new"
    sequences = await add_events(database, workspace, 2)

    inside = asyncio.Event()
    release = asyncio.Event()

    async def slow(session: AsyncSession, events: list[Event]) -> None:
        await recorder(session, events)
        inside.set()
        await release.wait()

    first = asyncio.create_task(follow(database, StreamConsumer(name, slow), GRACE))
    try:
        await asyncio.wait_for(inside.wait(), timeout=10)
        second = asyncio.create_task(follow(database, StreamConsumer(name, recorder), GRACE))
        done, _ = await asyncio.wait({second}, timeout=3)
    finally:
        release.set()
    assert await first == 2
    assert await second == 0
    assert recorder.batches == [sequences]
    assert second in done, "the second follow waited for the first one's transaction"


async def test_consumers_have_independent_cursors(database: Database, workspace: Workspace) -> None:
    one, two = Recorder(), Recorder()
    first = await add_events(database, workspace, 3)
    assert await follow(database, StreamConsumer("test-one", one, batch_size=2), GRACE) == 2
    assert await follow(database, StreamConsumer("test-two", two, batch_size=10), GRACE) == 3
    assert await position_of(database, "test-one") == (first[1], [])
    assert await position_of(database, "test-two") == (first[2], [])

    later = await add_events(database, workspace, 1)
    assert await follow(database, StreamConsumer("test-two", two, batch_size=10), GRACE) == 1
    assert await follow(database, StreamConsumer("test-one", one, batch_size=10), GRACE) == 2
    assert one.batches == [first[:2], [first[2], later[0]]]
    assert two.batches == [first, later]
    assert await position_of(database, "test-one") == (later[0], [])
    assert await position_of(database, "test-two") == (later[0], [])


async def test_a_new_consumer_starts_at_the_oldest_event_present(
    database: Database, workspace: Workspace
) -> None:
    n = await unused_base(database)
    await add_at(database, workspace, [n + 10, n + 11])
    assert await cursor_of(database, "test-new") is None

    recorder = Recorder()
    assert await follow(database, StreamConsumer("test-new", recorder), GRACE) == 2
    assert recorder.batches == [[n + 10, n + 11]]
    assert await position_of(database, "test-new") == (n + 11, [])


async def test_a_new_consumer_with_no_events_waits_for_the_first(
    database: Database, workspace: Workspace
) -> None:
    recorder = Recorder()
    stream = StreamConsumer("test-empty", recorder)
    assert await follow(database, stream, GRACE) == 0
    assert await position_of(database, "test-empty") == (None, [])

    sequences = await add_events(database, workspace, 2)
    assert await follow(database, stream, GRACE) == 2
    assert recorder.batches == [sequences]
    assert await position_of(database, "test-empty") == (sequences[-1], [])


async def test_advance_stops_below_a_young_gap_and_passes_an_old_one() -> None:
    now = utcnow()

    def at(sequence: int, age: timedelta = timedelta(0)) -> Event:
        return Event(sequence=sequence, occurred_at=now - age)

    horizon = now - GRACE
    assert _advance(None, [], horizon) is None
    assert _advance(4, [], horizon) == 4
    assert _advance(None, [at(7), at(8), at(10)], horizon) == 8
    assert _advance(4, [at(5), at(6)], horizon) == 6
    assert _advance(4, [at(6), at(7)], horizon) == 4
    assert _advance(4, [at(6, timedelta(hours=1)), at(7), at(9)], horizon) == 7
