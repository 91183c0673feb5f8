"""CRM core at size: 100k contacts, 20k companies, 300k activities in one workspace.

Measures, through the services (the code the routes call), on SQLite and PostgreSQL:
- typeahead contact search (`GET /contacts/search`), p50 and p95 over random name fragments;
- the first timeline page of a contact (`GET /contacts/{id}/timeline`), p50;
- merging two contacts that have 1,000 activities each (`POST /contacts/{id}/merge`).
Baseline in the same run: reading one contact by id through the same service.

    .venv/bin/python -m bench.crm_core [--contacts 100000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.databases import DATABASE_CHOICES, run_on
from bench.figures import DIALECTS, Figure, collect_on
from rapport.contacts.service import ContactService
from rapport.demo.service import FAMILY_NAMES, GIVEN_NAMES
from rapport.domains import install
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.kit.migrate import upgrade
from rapport.kit.pagination import PageRequest, SortSpec
from rapport.merge.service import ContactMerger
from rapport.models import Activity, ActivityType, Company, Contact, ContactStatus
from rapport.models.contacts import search_text_of
from rapport.overview.service import Overview
from rapport.tenancy.service import WorkspaceService

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000


def contact_rows(
    tenant: uuid.UUID, first: int, count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Rows of `count` live contacts numbered from `first`, for bulk inserts."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for n in range(first, first + count):
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        rows.append(
            {
                "id": new_id(),
                "tenant_id": tenant,
                "email": f"{given}.{family}.{n}@example.com".lower(),
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "phone": f"+1415{n:07d}",
                "search_text": search_text_of(
                    f"{given} {family}",
                    given,
                    family,
                    f"{given}.{family}.{n}@example.com",
                    f"+1415{n:07d}",
                ),
                "status": ContactStatus.ACTIVE,
                "properties": {},
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def seed(database: Database, contacts: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    rng = random.Random(3)
    async with database.transaction(platform="benchmark set-up and checks") as session:
        tenant = (await WorkspaceService(session).create("Bench")).id
    now = utcnow()
    rows = contact_rows(tenant, 0, contacts, rng)
    ids = [row["id"] for row in rows]
    await insert_rows(database, Contact, rows)
    companies = [
        {
            "id": new_id(),
            "tenant_id": tenant,
            "name": f"Company {n}",
            "domain": f"company{n}.example",
            "properties": {},
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(contacts // 5)
    ]
    await insert_rows(database, Company, companies)
    activities = [
        {
            "id": new_id(),
            "tenant_id": tenant,
            "type": ActivityType.CALL,
            "subject": f"Call {n}",
            "properties": {},
            "occurred_at": now - timedelta(minutes=n),
            "contact_id": ids[rng.randrange(len(ids))],
            "actor_type": "system",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(contacts * 3)
    ]
    await insert_rows(database, Activity, activities)
    async with database.transaction(platform="benchmark set-up and checks") as session:
        await session.execute(text("ANALYZE"))  # as autovacuum (or `ANALYZE`) would have
    return tenant, ids


async def insert_rows(database: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    for offset in range(0, len(rows), BATCH):
        async with database.transaction(platform="benchmark set-up and checks") as session:
            await session.execute(insert(model), rows[offset : offset + BATCH])


async def _time(database: Database, work: Any, samples: int) -> list[float]:
    timings = []
    for n in range(samples):
        async with database.transaction(platform="benchmark set-up and checks") as session:
            began = time.perf_counter()
            await work(session, n)
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def scenario(url: str, contacts: int, figures: list[Figure] | None = None) -> list[str]:
    database = Database(url)
    await upgrade(database)
    lines = []
    try:
        tenant, ids = await seed(database, contacts)
        rng = random.Random(9)
        fragments = [
            rng.choice(GIVEN_NAMES + FAMILY_NAMES).lower()[: rng.randint(2, 5)] for _ in range(200)
        ]

        async def read(session: Any, n: int) -> None:
            await ContactService(Context.bound(session, tenant)).get(
                str(ids[(n * 7919) % len(ids)])
            )

        async def search(session: Any, n: int) -> None:
            await ContactService(Context.bound(session, tenant)).search(fragments[n], 20)

        async def timeline(session: Any, n: int) -> None:
            page = PageRequest(skip=0, take=25, sort=SortSpec("occurredAt", descending=True))
            await Overview(Context.bound(session, tenant)).timeline(
                str(ids[(n * 104729) % len(ids)]), page
            )

        baseline = await _time(database, read, 200)
        searched = await _time(database, search, 200)
        longer = [ms for ms, term in zip(searched, fragments, strict=True) if len(term) >= 3]
        timelines = await _time(database, timeline, 100)
        floor = statistics.median(baseline)
        lines.append(f"  baseline (read one contact by id): p50 {floor:.2f} ms")
        lines.append(
            f"  typeahead search: p50 {statistics.median(searched):.1f} ms, "
            f"p95 {_p(searched, 95):.1f} ms (x{statistics.median(searched) / floor:.0f}); "
            f"terms of 3+ characters: p50 {statistics.median(longer):.1f} ms, "
            f"p95 {_p(longer, 95):.1f} ms"
        )
        lines.append(
            f"  timeline first page: p50 {statistics.median(timelines):.1f} ms "
            f"(x{statistics.median(timelines) / floor:.0f})"
        )
        if figures is not None:
            place = DIALECTS[database.dialect]
            for name, values in (
                ("typeahead search p50", searched),
                ("timeline first page p50", timelines),
            ):
                figures.append(
                    Figure(
                        "crm_core",
                        place,
                        f"{name}, {contacts:,} contacts",
                        statistics.median(values),
                        "ms",
                        floor,
                        "read one contact by id",
                    )
                )
        merges = []
        for attempt in range(3):
            winner, loser = ids[attempt * 2], ids[attempt * 2 + 1]
            now = utcnow()
            await insert_rows(
                database,
                Activity,
                [
                    {
                        "id": new_id(),
                        "tenant_id": tenant,
                        "type": ActivityType.NOTE,
                        "properties": {},
                        "occurred_at": now,
                        "contact_id": owner,
                        "actor_type": "system",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for owner in (winner, loser)
                    for _ in range(1000)
                ],
            )
            async with database.transaction(platform="benchmark set-up and checks") as session:
                began = time.perf_counter()
                await ContactMerger(Context.bound(session, tenant)).merge(str(winner), loser)
            merges.append((time.perf_counter() - began) * 1000)
        lines.append(
            f"  merge (1,000 + 1,000 activities): median {statistics.median(merges):.0f} ms"
        )
    finally:
        await database.dispose()
    return lines


def figures(databases: str = "both", contacts: int = 100_000) -> list[Figure]:
    async def collect(url: str, _dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, contacts, found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--db", choices=DATABASE_CHOICES, default="both")
    args = parser.parse_args()
    run_on(
        args.db,
        (
            f"{args.contacts} contacts, {args.contacts // 5} companies, "
            f"{args.contacts * 3} activities in one workspace"
        ),
        lambda url, _dialect: scenario(url, args.contacts),
    )


if __name__ == "__main__":
    main()
