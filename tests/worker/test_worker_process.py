"""`rapport worker` as a real process: it runs queued jobs and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from rapport.models import Job, JobState
from rapport.worker.queue import enqueue
from tests.helpers import EVERY_WORKSPACE

RAPPORT = Path(sys.executable).parent / "rapport"


async def _state(database: Database, job_id: object) -> JobState:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        state = await session.scalar(select(Job.state).where(Job.id == job_id))
    assert state is not None
    return state


async def test_worker_process_runs_jobs_and_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    database = Database(f"sqlite+inline:///{tmp_path / 'worker.db'}")
    await upgrade(database)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "maintenance.purge")
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        str(RAPPORT),
        "worker",
        "--concurrency",
        "2",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if await _state(database, job_id) == JobState.SUCCEEDED:
                break
            await asyncio.sleep(0.1)
        assert await _state(database, job_id) == JobState.SUCCEEDED
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await database.dispose()
