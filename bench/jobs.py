"""Job queue throughput: enqueue and run N no-op jobs (a batched task) with 1 and 2 worker
processes on PostgreSQL, and 1 on SQLite. The baseline, measured in the same run on the same
database, is the floor of the queue's own work: one INSERT and one UPDATE per job in its own
transaction, issued straight through the driver.

Two rates per run: from the workers' start (their start-up, about two seconds here, included)
to the last job succeeded, and steady: from the first job succeeded to the last (the jobs that
succeeded with the first are not counted).

    .venv/bin/python -m bench.jobs [--jobs 10000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import func, insert, select, text

from bench.databases import DATABASE_CHOICES, run_on
from bench.figures import DIALECTS, Figure, collect_on
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.kit.migrate import upgrade
from rapport.models import Job, JobState

ROOT = Path(__file__).resolve().parent.parent
RAPPORT = Path(sys.executable).parent / "rapport"


async def enqueue_many(database: Database, count: int) -> float:
    """Jobs/s of enqueueing, in transactions of 500 (the way a bulk operation would)."""
    started = time.perf_counter()
    now = utcnow()
    for offset in range(0, count, 500):
        rows = [
            {
                "id": new_id(),
                "tenant_id": None,
                "queue": "probe",
                "task": "probe.noop",
                "payload": {},
                "priority": 0,
                "state": JobState.QUEUED,
                "run_at": now,
                "attempts": 0,
                "max_attempts": 3,
                "created_at": now,
                "updated_at": now,
            }
            for _ in range(min(500, count - offset))
        ]
        async with database.transaction(platform="benchmark set-up and checks") as session:
            await session.execute(insert(Job), rows)
    return count / (time.perf_counter() - started)


async def run_workers(database: Database, count: int, workers: int) -> tuple[float, float]:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": database.url,
        "RAPPORT_WORKER_TASK_MODULES": '["tests.worker.probe"]',
        "RAPPORT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    started = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            str(RAPPORT),
            "worker",
            "--queues",
            "probe",
            "--concurrency",
            "32",
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            async with database.session(platform="benchmark set-up and checks") as session:
                done = await session.scalar(
                    select(func.count()).select_from(Job).where(Job.state == JobState.SUCCEEDED)
                )
            if done == count:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
    async with database.session(platform="benchmark set-up and checks") as session:
        first, last = (
            await session.execute(select(func.min(Job.finished_at), func.max(Job.finished_at)))
        ).one()
        with_first = await session.scalar(
            select(func.count()).select_from(Job).where(Job.finished_at == first)
        )
    steady = (count - (with_first or 0)) / (last - first).total_seconds()
    return count / elapsed, steady


async def baseline(database: Database, count: int) -> float:
    """Rows/s of one INSERT then one UPDATE per row, each in its own transaction."""
    async with database.transaction(platform="benchmark set-up and checks") as session:
        await session.execute(text("CREATE TABLE bench_floor (id TEXT PRIMARY KEY, n INTEGER)"))
    started = time.perf_counter()
    for n in range(count):
        async with database.transaction(platform="benchmark set-up and checks") as session:
            await session.execute(
                text("INSERT INTO bench_floor (id, n) VALUES (:id, 0)"), {"id": str(n)}
            )
        async with database.transaction(platform="benchmark set-up and checks") as session:
            await session.execute(
                text("UPDATE bench_floor SET n = 1 WHERE id = :id"), {"id": str(n)}
            )
    rate = count / (time.perf_counter() - started)
    async with database.transaction(platform="benchmark set-up and checks") as session:
        await session.execute(text("DROP TABLE bench_floor"))
    return rate


async def clear(database: Database) -> None:
    async with database.transaction(platform="benchmark set-up and checks") as session:
        await session.execute(text("DELETE FROM jobs"))


async def scenario(
    url: str, count: int, worker_counts: tuple[int, ...], figures: list[Figure] | None = None
) -> list[str]:
    database = Database(url)
    await upgrade(database)
    lines = []
    try:
        floor = await baseline(database, min(count, 2000))
        lines.append(f"  baseline (INSERT + UPDATE, own transactions): {floor:8.0f} rows/s")
        for workers in worker_counts:
            await clear(database)
            enqueued = await enqueue_many(database, count)
            ran, steady = await run_workers(database, count, workers)
            lines.append(
                f"  {workers} worker(s): enqueue {enqueued:8.0f} jobs/s, run {ran:8.0f} jobs/s"
                f" (ratio to baseline {ran / floor:.2f}), steady {steady:8.0f} jobs/s"
                f" (ratio {steady / floor:.2f})"
            )
            if figures is not None:
                figures.extend(
                    Figure(
                        "jobs",
                        DIALECTS[database.dialect],
                        f"no-op jobs, {workers} worker(s), {label}",
                        rate,
                        "jobs/s",
                        floor,
                        "INSERT + UPDATE per row",
                    )
                    for label, rate in (("steady", steady), ("from start", ran))
                )
        await clear(database)
    finally:
        await database.dispose()
    return lines


def worker_counts(dialect: str) -> tuple[int, ...]:
    return (1, 2) if dialect == "postgresql" else (1,)


def figures(databases: str = "both", jobs: int = 10_000) -> list[Figure]:
    async def collect(url: str, dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, jobs, worker_counts(dialect), found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--db", choices=DATABASE_CHOICES, default="both")
    args = parser.parse_args()
    run_on(
        args.db,
        f"{args.jobs} no-op jobs per run",
        lambda url, dialect: scenario(url, args.jobs, worker_counts(dialect)),
    )


if __name__ == "__main__":
    main()
