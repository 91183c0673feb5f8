"""How to store custom property values so that any property can be filtered and sorted fast.

Three designs over the same contacts (one busy workspace plus a smaller one), on SQLite and
PostgreSQL:
- json: values only in the `properties` JSON column, no index on them;
- json+expr: the JSON column with an expression index per property key (one index per key
  that any workspace defines);
- values: a typed value table beside the JSON column, `(tenant_id, key, number_value |
  text_value, record_id)` indexed once for every key.
Queries, each over the busy workspace: a rare text value (equality), a narrow number range, the
top 20 by a number. Baseline in the same run: the same query shapes on built-in indexed columns
(phone, createdAt). The report gives milliseconds per query (median of repeats) and the
ratio to the baseline, plus what each design costs at write time (rows per second).

    .venv/bin/python -m bench.property_storage [--contacts 200000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.databases import DATABASE_CHOICES, run_on
from bench.figures import DIALECTS, Figure, collect_on
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 30
CITIES = [f"City-{n}" for n in range(1000)]
PLANS = ["Starter", "Growth", "Enterprise"]

VALUES_TABLE = """
CREATE TABLE bench_property_values (
    tenant_id {uuid} NOT NULL,
    record_id {uuid} NOT NULL,
    key VARCHAR(64) NOT NULL,
    text_value VARCHAR(1000),
    number_value {number},
    PRIMARY KEY (record_id, key)
)"""


def json_text(dialect: str, key: str) -> str:
    if dialect == "postgresql":
        return f"(properties->>'{key}')"
    return f"json_extract(properties, '$.{key}')"


def json_number(dialect: str, key: str) -> str:
    if dialect == "postgresql":
        return f"((properties->>'{key}')::numeric)"
    return f"json_extract(properties, '$.{key}')"


def queries(dialect: str, design: str) -> dict[str, str]:
    """Each query returns up to 50 ids of the busy workspace (:tenant)."""
    if design == "baseline":
        return {
            "equality": "SELECT id FROM contacts WHERE tenant_id = :tenant "
            "AND phone = :phone LIMIT 50",
            "range": "SELECT id FROM contacts WHERE tenant_id = :tenant "
            "AND created_at BETWEEN :start AND :stop LIMIT 50",
            "top 20": "SELECT id FROM contacts WHERE tenant_id = :tenant "
            "ORDER BY created_at DESC LIMIT 20",
        }
    if design == "values":
        sub = "SELECT record_id FROM bench_property_values WHERE tenant_id = :tenant AND key = "
        return {
            "equality": f"SELECT id FROM contacts WHERE id IN ({sub}'city' "
            "AND text_value = :city) LIMIT 50",
            "range": f"SELECT id FROM contacts WHERE id IN ({sub}'mrr' "
            "AND number_value BETWEEN :low AND :high) LIMIT 50",
            "top 20": "SELECT c.id FROM bench_property_values v JOIN contacts c "
            "ON c.id = v.record_id WHERE v.tenant_id = :tenant AND v.key = 'mrr' "
            "ORDER BY v.number_value DESC LIMIT 20",
        }
    city, mrr = json_text(dialect, "city"), json_number(dialect, "mrr")
    return {
        "equality": f"SELECT id FROM contacts WHERE tenant_id = :tenant AND {city} = :city "
        "LIMIT 50",
        "range": f"SELECT id FROM contacts WHERE tenant_id = :tenant "
        f"AND {mrr} BETWEEN :low AND :high LIMIT 50",
        "top 20": f"SELECT id FROM contacts WHERE tenant_id = :tenant ORDER BY {mrr} DESC LIMIT 20",
    }


async def seed(database: Database, count: int) -> tuple[uuid.UUID, dict[str, Any], float, float]:
    """Contacts of two workspaces (90% in the busy one); the busy workspace's id, query
    parameters, and rows/s written with and without the value table."""
    rng = random.Random(5)
    uuid_type = "UUID" if database.dialect == "postgresql" else "CHAR(32)"
    number = "NUMERIC" if database.dialect == "postgresql" else "REAL"
    async with database.transaction(platform="benchmark set-up and checks") as session:
        await session.execute(text(VALUES_TABLE.format(uuid=uuid_type, number=number)))
        tenants = []
        for name in ("Busy", "Quiet"):
            tenant = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO tenants (id, name, settings, created_at, updated_at) "
                    "VALUES (:id, :name, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": _id(database, tenant), "name": name},
            )
            tenants.append(tenant)
    busy = tenants[0]
    insert_contact = text(
        "INSERT INTO contacts (id, tenant_id, email, phone, status, properties, version, "
        "created_at, updated_at) VALUES (:id, :tenant, :email, :phone, 'ACTIVE', "
        ":properties, 1, :created, :created)"
    )
    insert_value = text(
        "INSERT INTO bench_property_values (tenant_id, record_id, key, text_value, number_value) "
        "VALUES (:tenant, :record, :key, :text, :number)"
    )
    contacts_seconds = values_seconds = 0.0
    start = 1_700_000_000
    for offset in range(0, count, 5000):
        contacts, values = [], []
        for n in range(offset, min(count, offset + 5000)):
            tenant = busy if n % 10 else tenants[1]
            record = uuid.uuid4()
            props = {
                "city": rng.choice(CITIES),
                "plan": rng.choice(PLANS),
                "mrr": rng.randrange(0, 100_000),
            }
            contacts.append(
                {
                    "id": _id(database, record),
                    "tenant": _id(database, tenant),
                    "email": f"c{n}@example.com",
                    "phone": f"+1555{n:07d}",
                    "properties": _json(props),
                    "created": _moment(start + n),
                }
            )
            for key, value in props.items():
                values.append(
                    {
                        "tenant": _id(database, tenant),
                        "record": _id(database, record),
                        "key": key,
                        "text": value if isinstance(value, str) else None,
                        "number": value if not isinstance(value, str) else None,
                    }
                )
        began = time.perf_counter()
        async with database.transaction(platform="benchmark set-up and checks") as session:
            await session.execute(insert_contact, contacts)
        contacts_seconds += time.perf_counter() - began
        began = time.perf_counter()
        async with database.transaction(platform="benchmark set-up and checks") as session:
            await session.execute(insert_value, values)
        values_seconds += time.perf_counter() - began
    parameters = {
        "tenant": _id(database, busy),
        "phone": f"+1555{count // 2 + 1:07d}",
        "city": "City-17",
        "low": 50_000,
        "high": 50_050,
        "start": _moment(start + count // 2),
        "stop": _moment(start + count // 2 + 60),
    }
    return busy, parameters, count / contacts_seconds, count / values_seconds


def _id(database: Database, value: uuid.UUID) -> str:
    return str(value) if database.dialect == "postgresql" else value.hex


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value)


def _moment(seconds: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


async def index(database: Database, design: str) -> None:
    dialect = database.dialect
    statements = []
    if design == "json+expr":
        statements = [
            f"CREATE INDEX bench_city ON contacts (tenant_id, {json_text(dialect, 'city')})",
            f"CREATE INDEX bench_mrr ON contacts (tenant_id, {json_number(dialect, 'mrr')})",
        ]
    if design == "values":
        statements = [
            "CREATE INDEX bench_values_text ON bench_property_values "
            "(tenant_id, key, text_value, record_id)",
            "CREATE INDEX bench_values_number ON bench_property_values "
            "(tenant_id, key, number_value, record_id)",
        ]
    async with database.transaction(platform="benchmark set-up and checks") as session:
        for statement in statements:
            await session.execute(text(statement))
        if dialect == "postgresql":
            await session.execute(text("ANALYZE"))
        else:
            await session.execute(text("ANALYZE"))


async def timed(database: Database, sql: str, parameters: dict[str, Any]) -> float:
    samples = []
    async with database.session(platform="benchmark set-up and checks") as session:
        for _ in range(REPEATS):
            began = time.perf_counter()
            (await session.execute(text(sql), parameters)).all()
            samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


async def scenario(url: str, count: int, figures: list[Figure] | None = None) -> list[str]:
    database = Database(url)
    await upgrade(database)
    lines = []
    try:
        _busy, parameters, contact_rate, value_rate = await seed(database, count)
        lines.append(
            f"  write: contacts {contact_rate:8.0f} rows/s; the value table adds "
            f"{3 * count / value_rate / count * 1000:.3f} ms per contact (3 values each)"
        )
        floor = {
            name: await timed(database, sql, parameters)
            for name, sql in queries(database.dialect, "baseline").items()
        }
        lines.append(
            "  baseline (built-in columns): "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in floor.items())
        )
        for design in ("json", "json+expr", "values"):
            await index(database, design)
            measured = {
                name: await timed(database, sql, parameters)
                for name, sql in queries(database.dialect, design).items()
            }
            lines.append(
                f"  {design:10}: "
                + ", ".join(
                    f"{name} {ms:7.2f} ms (x{ms / floor[name]:.1f})"
                    for name, ms in measured.items()
                )
            )
            if figures is not None and design == "values":
                figures.extend(
                    Figure(
                        "property_storage",
                        DIALECTS[database.dialect],
                        f"{name} through property_values, {count:,} contacts",
                        ms,
                        "ms",
                        floor[name],
                        "the same on a built-in column",
                    )
                    for name, ms in measured.items()
                )
    finally:
        await database.dispose()
    return lines


def figures(databases: str = "both", contacts: int = 200_000) -> list[Figure]:
    async def collect(url: str, _dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, contacts, found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--db", choices=DATABASE_CHOICES, default="both")
    args = parser.parse_args()
    run_on(
        args.db,
        f"{args.contacts} contacts, 3 custom properties each",
        lambda url, _dialect: scenario(url, args.contacts),
    )


if __name__ == "__main__":
    main()
