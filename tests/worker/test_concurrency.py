"""Worker processes, really killed: on PostgreSQL several workers run every job once, and the
job of a worker killed with SIGKILL runs again after its lease; on both databases a worker
killed in the middle of its batches leaves every job's effect exactly once once another worker
has finished the queue."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from rapport.kit.db import Database
from rapport.models import Job, JobState
from rapport.worker.queue import enqueue, enqueue_many
from tests.helpers import EVERY_WORKSPACE

pytestmark = pytest.mark.usefixtures("app")

RAPPORT = Path(sys.executable).parent / "rapport"
ROOT = Path(__file__).resolve().parents[2]
JOBS = 1000
BATCHED_JOBS = 3000


async def start_worker(database: Database, concurrency: int = 8) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": database.url,
        "RAPPORT_WORKER_LEASE_SECONDS": "2",
        "RAPPORT_WORKER_TASK_MODULES": '["tests.worker.probe"]',
        "RAPPORT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    return await asyncio.create_subprocess_exec(
        str(RAPPORT),
        "worker",
        "--queues",
        "probe",
        "--concurrency",
        str(concurrency),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def scalar(database: Database, query: str) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(text(query)) or 0)


async def wait_for(database: Database, query: str, expected: int, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        if await scalar(database, query) == expected:
            return
        await asyncio.sleep(0.1)
    assert await scalar(database, query) == expected


async def wait_until(database: Database, query: str, least: int, seconds: float) -> int:
    for _ in range(int(seconds * 20)):
        if (found := await scalar(database, query)) >= least:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query} stayed below {least}")


async def test_a_worker_killed_mid_batch_leaves_every_effect_exactly_once(
    database: Database,
) -> None:
    import tests.worker.probe  # noqa: F401  (registers the probe tasks for enqueue)

    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            text("CREATE TABLE probe_runs (job_id TEXT NOT NULL, attempt INTEGER NOT NULL)")
        )
        await enqueue_many(session, "probe.write", [(None, {"n": n}) for n in range(BATCHED_JOBS)])
    workers: list[asyncio.subprocess.Process] = []
    try:
        in_hand = 0
        for _ in range(5):  # until a worker is killed with jobs in hand (almost always at once)
            workers.append(await start_worker(database, concurrency=32))
            done = await scalar(database, "SELECT count(*) FROM probe_runs")
            await wait_until(
                database, "SELECT count(*) FROM probe_runs", done + BATCHED_JOBS // 10, 60
            )
            workers[-1].send_signal(signal.SIGKILL)
            await workers[-1].wait()
            # Claimed by the killed worker, and not committed: every one must run again.
            in_hand = await scalar(database, "SELECT count(*) FROM jobs WHERE state = 'running'")
            if in_hand:
                break
        assert in_hand > 0
        assert await scalar(database, "SELECT count(*) FROM probe_runs") < BATCHED_JOBS
        workers.append(await start_worker(database, concurrency=32))

        await wait_for(
            database, "SELECT count(*) FROM jobs WHERE state = 'succeeded'", BATCHED_JOBS, 120
        )
        assert await scalar(database, "SELECT count(*) FROM probe_runs") == BATCHED_JOBS
        assert await scalar(database, "SELECT count(DISTINCT job_id) FROM probe_runs") == (
            BATCHED_JOBS
        )
        assert await scalar(database, "SELECT count(*) FROM jobs") == BATCHED_JOBS
        assert await scalar(database, "SELECT count(*) FROM probe_runs WHERE attempt > 1") >= (
            in_hand
        )
    finally:
        await _stop(workers, database)


async def test_two_workers_and_a_killed_one_process_every_job_once(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("several worker processes need PostgreSQL")
    import tests.worker.probe  # noqa: F401  (registers the probe tasks for enqueue)

    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            text("CREATE TABLE probe_runs (job_id TEXT NOT NULL, attempt INTEGER NOT NULL)")
        )
        slow = await enqueue(session, "probe.record", {"sleep": 30}, priority=100)
    workers = [await start_worker(database), await start_worker(database)]
    try:
        async with database.session(platform=EVERY_WORKSPACE) as session:
            holder = None
            for _ in range(100):
                holder = await session.scalar(
                    select(Job.locked_by).where(Job.id == slow, Job.state == JobState.RUNNING)
                )
                if holder:
                    break
                await asyncio.sleep(0.1)
        assert holder is not None
        victim = next(w for w in workers if f":{w.pid}:" in holder)
        async with database.transaction(platform=EVERY_WORKSPACE) as session:
            for n in range(JOBS - 1):
                await enqueue(session, "probe.record", {"n": n})
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        workers.remove(victim)
        workers.append(await start_worker(database))
        # The slow job's first run never committed; after the lease it runs again.
        await wait_for(database, "SELECT count(*) FROM probe_runs", JOBS, seconds=90)
        assert await scalar(database, "SELECT count(DISTINCT job_id) FROM probe_runs") == JOBS
        rerun = await scalar(database, f"SELECT attempt FROM probe_runs WHERE job_id = '{slow}'")
        assert rerun == 2
        async with database.session(platform=EVERY_WORKSPACE) as session:
            done = await session.scalar(
                select(func.count()).select_from(Job).where(Job.state == JobState.SUCCEEDED)
            )
        assert done == JOBS
    finally:
        await _stop(workers, database)


async def _stop(workers: list[asyncio.subprocess.Process], database: Database) -> None:
    """Stop the workers still running (SIGTERM, then SIGKILL after 40 s) and drop the probe's
    table."""
    for process in workers:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            await asyncio.wait_for(process.wait(), 40)
        except TimeoutError:
            process.kill()
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(text("DROP TABLE IF EXISTS probe_runs"))
