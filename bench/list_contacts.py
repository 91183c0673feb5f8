"""`GET /contacts` page 1 with its exact total, as the route reads it (the read views'
`contacts_page`), at growing sizes of one workspace. Baseline in the same run: the same page
without the total.

    .venv/bin/python -m bench.list_contacts [--sizes 100000,1000000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid

from sqlalchemy import func, select

from bench.crm_core import contact_rows, insert_rows
from bench.databases import DATABASE_CHOICES, run_on
from bench.figures import DIALECTS, Figure, collect_on
from rapport.contacts.filters import ContactFilters
from rapport.domains import install
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from rapport.kit.pagination import PageRequest, SortSpec
from rapport.models import Contact
from rapport.overview.service import Overview
from rapport.tenancy.service import WorkspaceService

SETUP = "benchmark set-up and checks"
SAMPLES = 40


async def _grow(database: Database, tenant: uuid.UUID, size: int) -> None:
    async with database.session(platform=SETUP) as session:
        held = int(await session.scalar(select(func.count()).select_from(Contact)) or 0)
    await insert_rows(
        database, Contact, contact_rows(tenant, held, size - held, random.Random(size))
    )
    # What autovacuum does after a bulk load: planner statistics, and on PostgreSQL the
    # visibility map that lets a count read an index alone.
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        postgres = connection.dialect.name == "postgresql"
        await autocommit.exec_driver_sql("VACUUM ANALYZE contacts" if postgres else "ANALYZE")


async def _timed(database: Database, tenant: uuid.UUID, count: bool) -> list[float]:
    page = PageRequest(skip=0, take=25, sort=SortSpec("createdAt", True))
    timings = []
    for _ in range(SAMPLES):
        async with database.session(workspace=tenant) as session:
            overview = Overview(Context(session, tenant))
            began = time.perf_counter()
            if count:
                await overview.contacts_page(ContactFilters(), page)
            else:
                await overview.contacts.repo.page(ContactFilters(), page, count=False)
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def _line(label: str, values: list[float]) -> str:
    cut = statistics.quantiles(values, n=20)
    return f"  {label:<28} p50 {statistics.median(values):7.1f} ms   p95 {cut[18]:7.1f} ms"


async def scenario(url: str, sizes: list[int], figures: list[Figure] | None = None) -> list[str]:
    database = Database(url)
    await upgrade(database)
    async with database.transaction(platform=SETUP) as session:
        tenant = (await WorkspaceService(session).create("Bench")).id
    lines = []
    for size in sizes:
        await _grow(database, tenant, size)
        without = await _timed(database, tenant, count=False)
        with_total = await _timed(database, tenant, count=True)
        lines.append(f" {size} contacts")
        lines.append(_line("page 1 (baseline)", without))
        lines.append(_line("page 1 with its total", with_total))
        if figures is not None:
            figures.append(
                Figure(
                    "list_contacts",
                    DIALECTS[database.dialect],
                    f"page 1 + total p50, {size:,} contacts",
                    statistics.median(with_total),
                    "ms",
                    statistics.median(without),
                    "page 1 without the total",
                    size,
                )
            )
    await database.dispose()
    return lines


def figures(databases: str = "both", sizes: tuple[int, ...] = (100_000,)) -> list[Figure]:
    async def collect(url: str, _dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, list(sizes), found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--db", choices=DATABASE_CHOICES, default="both")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    async def run(url: str, _dialect: str) -> list[str]:
        return await scenario(url, sizes)

    run_on(args.db, "GET /contacts page 1 (25, newest first) with and without the total", run)


if __name__ == "__main__":
    main()
