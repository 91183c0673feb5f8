"""Fixtures of webhook tests: a loopback receiver, an API that may subscribe it, and a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rapport.domains import TASK_MODULES
from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import custom_client, make_settings
from tests.webhooks.receiver import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def dev_client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a development server: webhooks may point at loopback addresses."""
    async with custom_client(database, tmp_path, allow_private_webhooks=True) as http:
        yield http


@pytest.fixture
def worker(database: Database, tmp_path: Path) -> Worker:
    """A worker that may reach loopback and retries failed deliveries at once."""
    settings = make_settings(tmp_path, allow_private_webhooks=True, webhook_retry_base_seconds=0.0)
    return Worker(database, task_modules=TASK_MODULES, settings=settings, lease_seconds=30)


async def drain(worker: Worker, rounds: int = 50) -> int:
    """Run the worker until nothing is due; the number of jobs run."""
    total = 0
    for _ in range(rounds):
        ran = await worker.run_once()
        total += ran
        if ran == 0:
            return total
    raise AssertionError("jobs kept coming")
