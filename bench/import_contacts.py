"""Imports at size: a CSV file of N new contacts (email, first and last name, phone, two typed
custom properties) imported through the import's own code (`ImportService.create` checks and
counts the file, `ImportRun.run` reads it in chunks through the contacts' batch write: the
job's work without the queue), against a baseline in the same run on the same database: the
same rows written by a raw bulk insert (SQLAlchemy Core, batches of 5,000) into a workspace of
their own. Peak resident memory is printed after the import.

    .venv/bin/python -m bench.import_contacts [--db sqlite|postgres] [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import resource
import time
import uuid
from pathlib import Path

from bench.crm_core import contact_rows, insert_rows
from bench.http_get_contact import bench_database
from rapport.config import Settings
from rapport.domains import install
from rapport.imports.schemas import ImportOptions
from rapport.imports.service import ImportRun, ImportService, Upload
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from rapport.models import Contact, PropertyEntity, PropertyType
from rapport.properties.schemas import PropertyCreate
from rapport.properties.service import PropertyService
from rapport.tenancy.service import WorkspaceService

SETUP = "benchmark set-up and checks"
PLANS = ("Starter", "Growth", "Scale")
BASELINE_CHUNK = 50_000


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Email", "First Name", "Last Name", "Phone", "Plan", "MRR"])
        for n in range(rows):
            writer.writerow(
                [
                    f"person.{n}@example.com",
                    f"Given{n % 997}",
                    f"Family{n % 991}",
                    f"+1415555{n % 10_000:04d}",
                    rng.choice(PLANS),
                    rng.randrange(0, 5000),
                ]
            )


async def workspace(database: Database, name: str) -> uuid.UUID:
    async with database.transaction(platform=SETUP) as session:
        tenant = await WorkspaceService(session).create(name)
        context = Context.bound(session, tenant.id)
        for key, kind in (("plan", PropertyType.TEXT), ("mrr", PropertyType.NUMBER)):
            await PropertyService(context).create(
                PropertyCreate(key=key, label=key.upper(), type=kind, entity=PropertyEntity.CONTACT)
            )
        return tenant.id


async def scenario(url: str, workdir: Path, rows: int) -> list[str]:
    database = Database(url)
    await upgrade(database)
    settings = Settings(data_dir=workdir, database_url=url)
    source = workdir / "people.csv"
    write_file(source, rows)

    baseline_tenant = await workspace(database, "Baseline")
    rng, baseline = random.Random(3), 0.0
    for first in range(0, rows, BASELINE_CHUNK):
        # Made a chunk at a time, so that the peak memory printed is the import's.
        records = contact_rows(baseline_tenant, first, min(BASELINE_CHUNK, rows - first), rng)
        started = time.perf_counter()
        await insert_rows(database, Contact, records)
        baseline += time.perf_counter() - started

    tenant = await workspace(database, "Import")
    started = time.perf_counter()
    async with database.transaction(workspace=tenant) as session:
        imports = ImportService(Context.bound(session, tenant), settings)
        with source.open("rb") as handle:
            created = await imports.create(
                Upload("people.csv", handle), ImportOptions(), queue=False
            )
    checked = time.perf_counter() - started
    started = time.perf_counter()
    ended = await ImportRun(database, tenant, settings).run(created.id)
    seconds = time.perf_counter() - started
    await database.dispose()
    assert ended is not None
    assert ended.created_count == rows, (
        ended.created_count,
        ended.updated_count,
        ended.skipped_count,
        ended.failed_count,
        ended.mapping,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate, raw = rows / seconds, rows / baseline
    return [
        f"  upload checked and counted: {checked:.1f} s ({rows / checked:,.0f} rows/s)",
        f"  import job: {seconds:.1f} s, {rate:,.0f} rows/s",
        f"  raw bulk insert of the same rows: {baseline:.1f} s, {raw:,.0f} rows/s",
        f"  ratio {rate / raw:.3f}; peak RSS {peak:.0f} MiB",
    ]


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with bench_database(args.db) as (url, workdir):
        print(f"{args.db}: {args.rows:,} rows")
        for line in asyncio.run(scenario(url, workdir, args.rows)):
            print(line)


if __name__ == "__main__":
    main()
