"""Dynamic lists at scale: a full rebuild, and a contact's change reaching every dynamic list.

    python -m bench.lists --db postgres --contacts 1000000 --keep /tmp/rapport-bench
    python -m bench.lists --db sqlite --contacts 100000

Measures, on a workspace made by `bench.generate`:
- a full rebuild (`POST /lists/{id}/evaluate`'s work) of a 3-condition dynamic list (a custom
  property, a tag, a field), against the same rows selected by a hand-written query and
  written into `list_members` by hand in the same run;
- with 100 dynamic lists in the workspace, a contact update (the write, with and without the
  lists: what they add to it), then the time from its commit until every list it affects
  has it: a worker following the event stream (polling every 0.1 s, as `rapport serve`'s
  embedded worker does every 0.5 s) queues the follow job and runs it;
- the follow job's own time for one contact and 100 lists.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text

from bench.figures import DIALECTS, Figure
from bench.generate import database_url, prepare
from rapport.contacts.schemas import ContactUpdate
from rapport.contacts.service import ContactService
from rapport.domains import TASK_MODULES, install
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.lists.schemas import ListCreate
from rapport.lists.service import ListService
from rapport.models.contacts import Contact
from rapport.models.lists import ListMember
from rapport.worker.loop import Worker

REBUILT = "mrr > 500 AND tag = t3 AND lifecycleStage = CUSTOMER"
HAND_WRITTEN = """
INSERT INTO list_members (tenant_id, list_id, record_id, added_at)
SELECT :tenant, :list, c.id, now() FROM contacts AS c
WHERE c.tenant_id = :tenant AND c.status NOT IN ('DELETED', 'MERGED')
  AND c.lifecycle_stage = 'CUSTOMER'
  AND c.id IN (SELECT record_id FROM property_values WHERE tenant_id = :tenant
               AND entity = 'CONTACT' AND key = 'mrr' AND number_value > 500)
  AND c.id IN (SELECT ct.contact_id FROM contact_tags AS ct JOIN tags AS t
               ON t.tenant_id = :tenant AND t.id = ct.tag_id
               WHERE ct.tenant_id = :tenant AND t.key = 't3')
"""
LIST_COUNT = 100


def _queries(rng: random.Random) -> list[str]:
    """100 dynamic list queries of the kinds people write: a stage, a tag, a property, a
    company's industry, combinations."""
    stages = ["LEAD", "CUSTOMER", "SUBSCRIBER", "OPPORTUNITY", "EVANGELIST"]
    made = []
    for n in range(LIST_COUNT):
        kind = n % 5
        if kind == 0:
            made.append(f"lifecycleStage = {rng.choice(stages)} AND mrr > {rng.randint(1, 900)}")
        elif kind == 1:
            made.append(f"tag = t{rng.randint(1, 8)} AND status = ACTIVE")
        elif kind == 2:
            made.append(f"company.industry = {rng.choice(['SaaS', 'Retail', 'Fintech'])}")
        elif kind == 3:
            made.append(f"mrr between {rng.randint(1, 300)} and {rng.randint(301, 3000)}")
        else:
            made.append(
                f"(tag = t{rng.randint(1, 8)} OR lifecycleStage = {rng.choice(stages)}) "
                f"AND email contains '{rng.choice('aeiou')}'"
            )
    return made


async def rebuild(
    database: Database, tenant: uuid.UUID, rounds: int, figures: list[Figure] | None = None
) -> list[str]:
    postgres = database.dialect == "postgresql"
    ours: list[float] = []
    hand: list[float] = []
    members = 0
    async with database.transaction(workspace=tenant) as session:
        segment = await ListService(Context.bound(session, tenant)).create(
            ListCreate(
                name=f"Rebuilt {uuid.uuid4().hex[:6]}", is_dynamic=True, filter_criteria=REBUILT
            )
        )
        list_id = segment.id
        members = segment.member_count
    for _ in range(rounds):
        # From empty: every member written again, the heaviest rebuild.
        await _empty(database, tenant, list_id)
        began = time.perf_counter()
        async with database.transaction(workspace=tenant) as session:
            evaluation = await ListService(Context.bound(session, tenant)).evaluate(list_id)
        ours.append((time.perf_counter() - began) * 1000)
        members = evaluation.member_count
        await _empty(database, tenant, list_id)
        began = time.perf_counter()
        async with database.transaction(platform="bench: hand-written rebuild") as session:
            statement = (
                HAND_WRITTEN if postgres else HAND_WRITTEN.replace("now()", "CURRENT_TIMESTAMP")
            )
            ids = {"tenant": _raw(database, tenant), "list": _raw(database, list_id)}
            await session.execute(text(statement), ids)
        hand.append((time.perf_counter() - began) * 1000)
    ours_p50, hand_p50 = statistics.median(ours), statistics.median(hand)
    if figures is not None:
        figures.append(
            Figure(
                "lists",
                DIALECTS[database.dialect],
                f"dynamic list rebuild p50, {members:,} members",
                ours_p50 / 1000,
                "s",
                hand_p50 / 1000,
                "hand-written INSERT ... SELECT",
            )
        )
    return [
        f"rebuild of `{REBUILT}` from empty: {members:,} members",
        f"  Rapport p50 {ours_p50:,.0f} ms (best {min(ours):,.0f}), hand-written INSERT ... "
        f"SELECT p50 {hand_p50:,.0f} ms: ratio {ours_p50 / hand_p50:.2f}",
    ]


async def follow(database: Database, tenant: uuid.UUID, rounds: int) -> list[str]:
    rng = random.Random(5)
    async with database.transaction(workspace=tenant) as session:
        staged = select(Contact.id).where(Contact.lifecycle_stage.is_not(None))
        picked = (await session.execute(staged.order_by(Contact.id).limit(200))).scalars().all()
    contacts = list(picked)
    stages = ["LEAD", "CUSTOMER", "SUBSCRIBER", "OPPORTUNITY", "EVANGELIST"]

    async def update(contact_id: uuid.UUID) -> float:
        began = time.perf_counter()
        async with database.transaction(workspace=tenant) as session:
            await ContactService(Context.bound(session, tenant)).update(
                str(contact_id), ContactUpdate(lifecycle_stage=rng.choice(stages))
            )
        return (time.perf_counter() - began) * 1000

    for i in range(rounds):  # warm up: caches, statistics, plans
        await update(contacts[-1 - i % len(contacts)])
    without = [await update(contacts[i % len(contacts)]) for i in range(rounds)]
    made_lists = time.perf_counter()
    async with database.transaction(workspace=tenant) as session:
        lists = ListService(Context.bound(session, tenant))
        for n, query in enumerate(_queries(rng)):
            await lists.create(
                ListCreate(
                    name=f"Segment {n} {uuid.uuid4().hex[:4]}",
                    is_dynamic=True,
                    filter_criteria=query,
                )
            )
    made_lists = time.perf_counter() - made_lists
    worker = Worker(database, task_modules=TASK_MODULES, poll_seconds=0.1)
    await _drain(worker)
    with_lists = [await update(contacts[i % len(contacts)]) for i in range(rounds)]
    await _drain(worker)

    job_times: list[float] = []
    reach: list[float] = []
    for i in range(rounds):
        contact_id = contacts[(i * 7) % len(contacts)]
        await update(contact_id)
        committed = time.perf_counter()
        await worker.follow_streams(force=True)
        began = time.perf_counter()
        await _drain(worker)
        job_times.append((time.perf_counter() - began) * 1000)
        reach.append((time.perf_counter() - committed) * 1000)

    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    latencies = []
    for i in range(rounds):
        contact_id = contacts[(i * 11 + 3) % len(contacts)]
        await update(contact_id)
        committed = time.perf_counter()
        async with database.transaction(platform="bench: waiting for the lists") as session:
            while True:
                pending = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM jobs WHERE task = 'lists.follow' "
                            "AND state IN ('queued', 'running')"
                        )
                    )
                ).scalar_one()
                events = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM events WHERE sequence > coalesce("
                            "(SELECT position FROM event_cursors WHERE name = 'lists'), 0)"
                        )
                    )
                ).scalar_one()
                if pending == 0 and events == 0:
                    break
                await session.commit()
                await asyncio.sleep(0.01)
        latencies.append((time.perf_counter() - committed) * 1000)
    stop.set()
    await running
    return [
        f"{LIST_COUNT} dynamic lists created in {made_lists:,.1f} s (each evaluated in full)",
        f"contact update p50 without lists {statistics.median(without):.1f} ms, with "
        f"{LIST_COUNT} lists {statistics.median(with_lists):.1f} ms (added to the write: "
        f"{statistics.median(with_lists) - statistics.median(without):+.1f} ms)",
        f"follow job for one contact, {LIST_COUNT} lists: p50 "
        f"{statistics.median(job_times):.0f} ms, p95 {_p95(job_times):.0f} ms",
        f"commit -> every list current, worker polling every 0.1 s: p50 "
        f"{statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms "
        f"(rapport serve polls every 0.5 s: add up to 0.4 s)",
    ]


def _raw(database: Database, value: uuid.UUID) -> Any:
    """An id as a raw statement binds it (SQLite stores ids as 32 hex digits)."""
    return value if database.dialect == "postgresql" else value.hex


async def _empty(database: Database, tenant: uuid.UUID, list_id: uuid.UUID) -> None:
    async with database.transaction(workspace=tenant) as session:
        await session.execute(delete(ListMember).where(ListMember.list_id == list_id))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _drain(worker: Worker) -> None:
    for _ in range(1000):
        handed = await worker.follow_streams(force=True)
        ran = await worker.run_once()
        if handed == 0 and ran == 0:
            return


async def scenario(
    url: str,
    tenant: uuid.UUID,
    rounds: int,
    follow_too: bool,
    figures: list[Figure] | None = None,
) -> None:
    database = Database(url)
    try:
        for line in await rebuild(database, tenant, rounds=3, figures=figures):
            print(line, flush=True)
        if follow_too:
            for line in await follow(database, tenant, rounds):
                print(line, flush=True)
    finally:
        await database.dispose()


def figures(
    databases: str = "both",
    contacts: int = 100_000,
    keep: Path | None = None,
    seed: int = 1,
    follow_too: bool = False,
    rounds: int = 20,
) -> list[Figure]:
    """The rebuild's figure on each database (the follow scenario prints its own)."""
    found: list[Figure] = []
    for kind in ("postgres", "sqlite") if databases == "both" else (databases,):
        with database_url(kind, keep, contacts, seed) as (url, place):
            prepared = asyncio.run(prepare(url, place, contacts, seed))
            asyncio.run(scenario(url, prepared.tenant_id, rounds, follow_too, found))
    return [replace(figure, size=contacts) for figure in found]


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="reuse (or keep) the generated database here")
    parser.add_argument(
        "--rebuild-only",
        action="store_true",
        help="skip the follow scenario (its 100 lists are each evaluated in full when made)",
    )
    args = parser.parse_args()
    with database_url(args.db, args.keep, args.contacts, args.seed) as (url, place):
        prepared = asyncio.run(prepare(url, place, args.contacts, args.seed, progress=print))
        print(f"\nlists, {args.db}, {args.contacts:,} contacts", flush=True)
        asyncio.run(scenario(url, prepared.tenant_id, args.rounds, not args.rebuild_only))


if __name__ == "__main__":
    main()
