"""What recording a domain event adds to creating a contact: ContactService.create in its own
transaction, N times with the event recorded and N times without (the recorder swapped for one
that records nothing), alternating batches, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.event_overhead [--creates 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.figures import DIALECTS, Figure, collect_on
from rapport.contacts.schemas import ContactCreate
from rapport.contacts.service import ContactService
from rapport.domains import install
from rapport.events.service import EventRecorder
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from rapport.tenancy.service import WorkspaceService

ROOT = Path(__file__).resolve().parent.parent


class _Silent(EventRecorder):
    def record(self, *_args: Any, **_kwargs: Any) -> Any:
        return None


async def _creates(database: Database, tenant: uuid.UUID, count: int, events: bool) -> float:
    started = time.perf_counter()
    for _ in range(count):
        async with database.transaction(workspace=tenant) as session:
            service = ContactService(Context(session, tenant))
            if not events:
                service.events = _Silent(service.context)
            await service.create(ContactCreate(email=f"{uuid.uuid4().hex}@example.com"))
    return (time.perf_counter() - started) / count * 1000


async def scenario(url: str, count: int, figures: list[Figure] | None = None) -> str:
    database = Database(url)
    await upgrade(database)
    async with database.transaction(platform="benchmark set-up and checks") as session:
        tenant = (await WorkspaceService(session).create("Bench")).id
    with_events = without = 0.0
    rounds = 4
    for _ in range(rounds):
        without += await _creates(database, tenant, count // rounds, events=False)
        with_events += await _creates(database, tenant, count // rounds, events=True)
    await database.dispose()
    if figures is not None:
        figures.append(
            Figure(
                "event_overhead",
                DIALECTS[database.dialect],
                "create a contact, with its event",
                with_events / rounds,
                "ms",
                without / rounds,
                "the same without the event",
            )
        )
    return (
        f"  create without event {without / rounds:.3f} ms, with event "
        f"{with_events / rounds:.3f} ms: +{(with_events / without - 1) * 100:.1f}%"
    )


def figures(databases: str = "both", creates: int = 2000) -> list[Figure]:
    async def collect(url: str, _dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, creates, found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creates", type=int, default=2000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.pgcluster import PgCluster

    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    cluster = PgCluster()
    try:
        print("SQLite")
        print(asyncio.run(scenario(f"sqlite+inline:///{workdir / 'ev.db'}", args.creates)))
        print("PostgreSQL")
        print(asyncio.run(scenario(cluster.start(), args.creates)))
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
