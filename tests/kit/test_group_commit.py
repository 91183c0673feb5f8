"""Group commit: callers that arrive while a flush is under way share the next one, each gets
its own result, and a failure or a cancelled caller leaves no one waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from rapport.kit.group_commit import GroupCommit


class Recorder:
    """A flush that takes a moment (as a transaction does) and remembers each group."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.fail_on = fail_on

    async def flush(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        await asyncio.sleep(0.01)
        if self.fail_on in items:
            raise RuntimeError(f"cannot record {self.fail_on}")
        return [item * 10 for item in items]


async def test_callers_that_arrive_during_a_flush_share_the_next_one() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.flush)

    first = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0)  # the first flush starts with the first caller alone
    results = await asyncio.gather(first, *(group.submit(n) for n in range(2, 7)))

    assert results == [10, 20, 30, 40, 50, 60]
    assert recorder.groups == [[1], [2, 3, 4, 5, 6]]


async def test_a_group_is_at_most_the_limit() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.flush, limit=2)

    results = await asyncio.gather(*(group.submit(n) for n in range(1, 6)))

    assert results == [10, 20, 30, 40, 50]
    assert [len(g) for g in recorder.groups] == [2, 2, 1]


async def test_a_failed_flush_fails_its_own_group_only() -> None:
    recorder = Recorder(fail_on=2)
    group = GroupCommit(recorder.flush, limit=2)

    results = await asyncio.gather(*(group.submit(n) for n in range(1, 5)), return_exceptions=True)

    assert [str(r) if isinstance(r, Exception) else r for r in results] == [
        "cannot record 2",
        "cannot record 2",
        30,
        40,
    ]
    assert await group.submit(5) == 50  # and it goes on


async def test_a_cancelled_caller_leaves_the_others_their_results() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.flush)

    leaving = asyncio.create_task(group.submit(1))
    staying = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0)
    leaving.cancel()

    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert recorder.groups == [[1, 2]]  # what was submitted is recorded all the same
