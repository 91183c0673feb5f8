"""Exports at size: every live contact of a workspace made by `bench.generate` written to a
CSV file through the export job's own code (`ExportService.plan` compiles the query and picks
the columns from the catalogue, `ExportService.write` streams the rows from the database in
batches through the writer into the file), against baselines in the same run on the same
database reading the same rows and columns:

- SQLite: the standard library's sqlite3 cursor, rows written with the csv module;
- PostgreSQL: asyncpg's server-side cursor, rows written with the csv module; and
  `COPY (SELECT ...) TO STDOUT WITH CSV HEADER` into the file (the database formats).

The baselines write the values as the driver gives them (the `properties` JSON as one column,
times in the driver's own text): less work than the export's ISO 8601 times and flattened
properties, so the ratio is an upper bound of what formatting costs.

Two column sets: the contact's own fields (13 columns, the default), and those plus three
custom properties read from the `properties` JSON (`city`, `plans`, `mrr`). Each case runs
`--rounds` times, alternating with its baselines; the report gives the best rows/s of each and
the peak resident memory of the process (ru_maxrss) after the export runs, against the file
size: flat memory means the peak does not grow with the file.

    .venv/bin/python -m bench.export --db postgres|sqlite [--contacts 1000000] [--seed 1]
                                     [--keep DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from bench.figures import DIALECTS, Figure
from bench.generate import database_url, prepare
from rapport.config import Settings
from rapport.domains import install
from rapport.exports.service import ExportService
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models.exports import ExportEntity, ExportFormat

OWN = (
    "id, email, name, given_name, family_name, phone, external_id, status, lifecycle_stage, "
    "owner_user_id, created_at, updated_at, last_activity_at"
)
OWN_COLUMNS = [
    "id",
    "email",
    "name",
    "givenName",
    "familyName",
    "phone",
    "externalId",
    "status",
    "lifecycleStage",
    "ownerUserId",
    "createdAt",
    "updatedAt",
    "lastActivityAt",
]
PROPERTY_KEYS = ("city", "plans", "mrr")


def _sql(properties: bool, placeholder: str) -> str:
    extra = ", properties" if properties else ""
    return (
        f"SELECT {OWN}{extra} FROM contacts WHERE tenant_id = {placeholder} "
        "AND status NOT IN ('DELETED', 'MERGED') ORDER BY id"
    )


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def through_rapport(
    database: Database, tenant: uuid.UUID, out: Path, properties: bool
) -> int:
    columns = (
        [*OWN_COLUMNS, *(f"properties.{key}" for key in PROPERTY_KEYS)] if properties else None
    )
    settings = Settings(data_dir=out.parent, secret_key="bench")
    async with database.transaction(workspace=tenant) as session:
        exports = ExportService(Context(session, tenant), settings)
        plan = await exports.plan(ExportEntity.CONTACT, None, None, columns)
        with out.open("wb") as target:
            written = await exports.write(plan, ExportFormat.CSV, target)
    return written.rows


def _header(properties: bool) -> list[str]:
    return [*OWN_COLUMNS, "properties"] if properties else OWN_COLUMNS


def _csv_rows(rows: Any, out: Path, header: list[str]) -> int:
    count = 0
    with out.open("w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(header)
        for row in rows:
            count += 1
            writer.writerow(row)
    return count


async def baseline_sqlite(
    database: Database, tenant: uuid.UUID, out: Path, properties: bool
) -> int:
    path = database.url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        cursor = connection.execute(_sql(properties, "?"), (tenant.hex,))
        return _csv_rows(cursor, out, _header(properties))


async def baseline_asyncpg(
    database: Database, tenant: uuid.UUID, out: Path, properties: bool
) -> int:
    dsn = database.url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        count = 0
        with out.open("w", newline="", encoding="utf-8") as target:
            writer = csv.writer(target)
            writer.writerow(_header(properties))
            async with connection.transaction():
                cursor = connection.cursor(_sql(properties, "$1"), tenant, prefetch=5000)
                batch: list[Any] = []
                async for row in cursor:
                    batch.append(row)
                    if len(batch) == 5000:
                        writer.writerows(batch)
                        count += len(batch)
                        batch = []
                writer.writerows(batch)
                count += len(batch)
        return count
    finally:
        await connection.close()


async def baseline_copy(database: Database, tenant: uuid.UUID, out: Path, properties: bool) -> int:
    dsn = database.url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        query = _sql(properties, f"'{tenant}'")
        with out.open("wb") as target:
            status = await connection.copy_from_query(
                query, output=target, format="csv", header=True
            )
        return int(status.split()[-1])
    finally:
        await connection.close()


Runner = Callable[[Database, uuid.UUID, Path, bool], Awaitable[int]]


async def scenario(
    url: str, tenant: uuid.UUID, rounds: int, figures: list[Figure] | None = None
) -> None:
    before = _peak_mib()
    database = Database(url)
    baselines: dict[str, Runner] = (
        {"asyncpg + csv": baseline_asyncpg, "COPY TO STDOUT": baseline_copy}
        if database.dialect == "postgresql"
        else {"sqlite3 + csv": baseline_sqlite}
    )
    cases: dict[str, Runner] = {"Rapport export": through_rapport, **baselines}
    try:
        with tempfile.TemporaryDirectory(prefix="rapport-export-") as workdir:
            for properties in (False, True):
                label = "own fields + 3 properties" if properties else "own fields (13 columns)"
                best: dict[str, float] = {}
                sizes: dict[str, int] = {}
                for _ in range(rounds):
                    for name, run in cases.items():
                        out = Path(workdir) / f"{name.split()[0]}.csv"
                        started = time.perf_counter()
                        rows = await run(database, tenant, out, properties)
                        elapsed = time.perf_counter() - started
                        best[name] = max(best.get(name, 0.0), rows / elapsed)
                        sizes[name] = out.stat().st_size
                        print(
                            f"  {label:28} {name:16} {rows:>9,} rows {elapsed:6.2f} s "
                            f"{rows / elapsed:>10,.0f} rows/s  peak RSS {_peak_mib():6.0f} MiB",
                            flush=True,
                        )
                ours = best["Rapport export"]
                print(f"{label}: file {sizes['Rapport export'] / 2**20:,.1f} MiB")
                for name, rate in best.items():
                    print(f"  {name:16} best {rate:>10,.0f} rows/s  ratio {ours / rate:4.2f}")
                if figures is not None:
                    driver = next(name for name in baselines if "csv" in name)
                    figures.append(
                        Figure(
                            "export",
                            DIALECTS[database.dialect],
                            f"CSV export, {label}, {rows:,} rows",
                            ours,
                            "rows/s",
                            best[driver],
                            f"{driver} (best of {rounds})",
                        )
                    )
        if figures is not None:
            figures.append(
                Figure(
                    "export",
                    DIALECTS[database.dialect],
                    "peak RSS after the exports",
                    _peak_mib(),
                    "MiB",
                    before,
                    "peak RSS before them",
                )
            )
    finally:
        await database.dispose()


def figures(
    databases: str = "both",
    contacts: int = 1_000_000,
    keep: Path | None = None,
    rounds: int = 3,
    seed: int = 1,
) -> list[Figure]:
    found: list[Figure] = []
    for kind in ("postgres", "sqlite") if databases == "both" else (databases,):
        with database_url(kind, keep, contacts, seed) as (url, place):
            prepared = asyncio.run(prepare(url, place, contacts, seed))
            asyncio.run(scenario(url, prepared.tenant_id, rounds, found))
    return [replace(figure, size=contacts) for figure in found]


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the database in this directory")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with database_url(args.db, args.keep, args.contacts, args.seed) as (url, place):
        prepared = asyncio.run(prepare(url, place, args.contacts, args.seed, progress=print))
        print(f"{args.contacts:,} contacts on {args.db}; peak RSS {_peak_mib():.0f} MiB before")
        asyncio.run(scenario(url, prepared.tenant_id, args.rounds))


if __name__ == "__main__":
    main()
