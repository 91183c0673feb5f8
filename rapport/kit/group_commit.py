"""Group commit: many concurrent callers, one transaction for each group of them.

A caller submits an item and waits for its result. The first submission starts a flush at
once; submissions that arrive while it is under way wait for the next one, which takes them
all (up to `limit`). Alone, a caller waits for one transaction as before; with N callers in
flight, each transaction (and its round trips to the database) serves up to N of them, which
is what makes per-item durable records affordable on a hot path (a campaign's sent messages:
`rapport.campaigns.sender`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """`flush(items)` returns one result per item, in order; an exception it raises is every
    waiting caller's."""

    def __init__(
        self, flush: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, limit: int = 100
    ) -> None:
        self._flush = flush
        self._limit = limit
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if self._flusher is not None and self._flusher.get_loop() is not loop:
            # Left behind by an event loop that has ended (its callers are gone with it).
            self._flusher = None
            self._waiting.clear()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._flusher is None:
            # A task of its own: a caller that is cancelled does not leave the others waiting.
            self._flusher = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._limit]
                del self._waiting[: self._limit]
                try:
                    results = await self._flush([item for item, _ in group])
                except asyncio.CancelledError:
                    for _, future in group + self._waiting:
                        future.cancel()
                    self._waiting.clear()
                    raise
                except Exception as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flusher = None
