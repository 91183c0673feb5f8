"""Realistic data for one workspace, loaded fast: contacts created over three years (mostly
active, in seven lifecycle stages), ten custom contact properties (a value in the contact's
`properties` and its indexed rows in `property_values`, as the app writes them), twenty tags
carried about three per contact, companies (one per twenty contacts) with memberships, and
activities. Definitions and tags are created through the services; the bulk rows are written
with COPY on PostgreSQL (into an empty table, its secondary indexes are built after the load,
as `pg_restore` does) and with `executemany` in large transactions on SQLite; the database
triggers keep `live_counts` either way (checked after the load). Planner statistics are
gathered at the end.

As a module: `await generate(database, tenant_id, contacts=1_000_000, seed=1)` into a migrated
database and an existing workspace. As a command, into a throwaway database (or one kept in
`--keep DIR` for later runs, see `bench.cql`), printing what it wrote and how long it took:

    .venv/bin/python -m bench.generate --db postgres|sqlite [--contacts 1000000] [--seed 1]
                                       [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database, refresh_planner_statistics
from rapport.kit.normalize import folded
from rapport.models.properties import PropertyEntity, PropertyType
from rapport.properties.schemas import PropertyCreate, PropertyOption
from rapport.properties.service import PropertyService
from rapport.tags.schemas import TagCreate
from rapport.tags.service import TagService

ROOT = Path(__file__).resolve().parent.parent
SETUP = "benchmark data generator"
CHUNK = 20_000
"""Contacts per batch: each batch's rows (about 12 per contact) are written in one go while
the next batch is built in a thread."""
YEARS = 3


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_NAMES = _words(
    "Ada Alan Amara Ana Arjun Ben Camille Chen Chloé Dana Diego Elena Emeka Farah Felix Grace "
    "Hana Hugo Ines Isaac Jonas Kai Lara Leila Liam Lucía Malik Maya Mei Nadia Noah Olga Omar "
    "Priya Rafael Rosa Sam Sofia Tariq Thea Tomás Yara Yusuf Zoe Anna Marco Julia Pedro Sara "
    "Lena Ivan Aiko Kofi Nina Oscar Paula Ravi Selma Timo Uma Victor Wen Xavier Yusra Zeynep"
)
FAMILY_NAMES = _words(
    "Abbott Adeyemi Bauer Bianchi Costa Dubois Eriksen Fischer García Haddad Ivanova Jensen "
    "Kowalski Lambert Moreau Nakamura Novak Okafor Petrov Quinn Rossi Santos Schmidt Silva "
    "Tanaka Usman Varga Weber Xu Yilmaz Zhang Müller Martin Dupont Kim Lee Patel Singh Nguyen "
    "Brown Smith Jones Walker Hughes Ortiz Ramos Lindqvist Horvat Popescu Mensah Ahmed"
)
MAIL_DOMAINS = ("gmail.example", "outlook.example", "proton.example", "yahoo.example")
STAGES = (
    ("SUBSCRIBER", 28),
    ("LEAD", 24),
    ("MARKETING_QUALIFIED", 11),
    ("SALES_QUALIFIED", 8),
    ("OPPORTUNITY", 7),
    ("CUSTOMER", 14),
    ("EVANGELIST", 3),
    (None, 5),
)
STATUSES = (("ACTIVE", 925), ("ARCHIVED", 50), ("DELETED", 25))
CITIES = _words(
    "London Berlin Paris Madrid Lisbon Amsterdam Dublin Vienna Zurich Munich Hamburg Milan "
    "Rome Barcelona Prague Warsaw Stockholm Oslo Copenhagen Helsinki Brussels Lyon Porto Krakow "
    "Budapest Athens Istanbul Lagos Nairobi Cairo Toronto Montreal Austin Boston Chicago Denver "
    "Seattle Osaka Tokyo Pune Bangalore Singapore Sydney Auckland Santiago Lima Bogotá"
)
TIERS = (("free", 40), ("starter", 30), ("pro", 20), ("enterprise", 10))
PLANS = ("crm", "support", "marketing", "analytics", "api")
SOURCES = (
    ("website", 35),
    ("webinar", 10),
    ("referral", 15),
    ("trade-show", 8),
    ("linkedin", 17),
    ("newsletter", 15),
)
INDUSTRIES = (
    ("SaaS", 18),
    ("Retail", 14),
    ("Logistics", 9),
    ("Food", 8),
    ("Manufacturing", 12),
    ("Consulting", 11),
    ("Healthcare", 9),
    ("Finance", 8),
    ("Education", 6),
    ("Media", 5),
)
COMPANY_WORDS = _words(
    "Acme Blue Nord Summit Orbit Pixel Harbor Cedar Atlas Vertex Lumen Quartz Maple Delta "
    "Aurora Falcon Ember Granite Willow Cobalt"
)
COMPANY_KINDS = _words("Labs Systems Foods Logistics Partners Works Group Studio Health Capital")
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
JOB_TITLES = ("CEO", "CTO", "Head of Sales", "Marketing Manager", "Engineer", "Buyer", None)
ACTIVITY_TYPES = (("EMAIL", 35), ("CALL", 25), ("MEETING", 15), ("NOTE", 25))
TAG_SHARES = (
    0.45, 0.35, 0.30, 0.25, 0.22, 0.20, 0.18, 0.16, 0.14, 0.12,
    0.10, 0.09, 0.08, 0.07, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03,
)  # fmt: skip
"""Share of contacts carrying tags t1..t20: about three tags per contact."""

P = PropertyType
PROPERTIES: tuple[tuple[str, str, PropertyType, tuple[str, ...]], ...] = (
    ("mrr", "Monthly recurring revenue", P.NUMBER, ()),
    ("city", "City", P.TEXT, ()),
    ("tier", "Tier", P.SELECT, tuple(value for value, _ in TIERS)),
    ("plans", "Plans", P.MULTI_SELECT, PLANS),
    ("renewal", "Renewal date", P.DATE, ()),
    ("newsletter", "Newsletter opt-in", P.BOOLEAN, ()),
    ("seats", "Seats", P.NUMBER, ()),
    ("source", "Source", P.SELECT, tuple(value for value, _ in SOURCES)),
    ("nps", "NPS score", P.NUMBER, ()),
    ("last_login", "Last login", P.DATETIME, ()),
)
"""The ten custom contact properties: key, label, type, options."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "companies": (
        "id", "tenant_id", "name", "domain", "industry", "size", "website", "role", "status",
        "properties", "version", "created_at", "updated_at",
    ),
    "contacts": (
        "id", "tenant_id", "email", "name", "given_name", "family_name", "phone",
        "external_id", "status", "lifecycle_stage", "properties", "last_activity_at",
        "version", "search_text", "created_at", "updated_at",
    ),
    "property_values": (
        "tenant_id", "record_id", "key", "ordinal", "entity", "text_value", "number_value",
    ),
    "contact_tags": ("contact_id", "tag_id", "tenant_id", "created_at"),
    "company_memberships": (
        "id", "tenant_id", "contact_id", "company_id", "role", "is_primary", "properties",
        "created_at", "updated_at",
    ),
    "activities": (
        "id", "tenant_id", "type", "module", "subject", "properties", "occurred_at",
        "contact_id", "company_id", "actor_type", "created_at", "updated_at",
    ),
}  # fmt: skip
"""The columns written, in the order of each row; companies and contacts first (the others
refer to them)."""


@dataclass
class Generated:
    """What `generate` wrote, and how long it took (seconds)."""

    rows: dict[str, int] = field(default_factory=dict)
    live_contacts: int = 0
    seconds_setup: float = 0.0
    seconds_load: float = 0.0
    seconds_indexes: float = 0.0
    """Of `seconds_load`: building the indexes dropped for the load again (PostgreSQL)."""
    seconds_statistics: float = 0.0

    @property
    def seconds(self) -> float:
        return self.seconds_setup + self.seconds_load + self.seconds_statistics

    def summary(self) -> list[str]:
        rows = ", ".join(f"{table} {count:,}" for table, count in self.rows.items())
        total = sum(self.rows.values())
        return [
            f"  wrote {total:,} rows: {rows}",
            f"  live contacts {self.live_contacts:,} (live_counts agrees)",
            f"  time: {self.seconds:.1f} s (set-up {self.seconds_setup:.1f}, rows "
            f"{self.seconds_load:.1f} = {total / max(self.seconds_load, 1e-9):,.0f} rows/s, "
            f"{self.seconds_indexes:.1f} of them building indexes again, "
            f"statistics {self.seconds_statistics:.1f})",
        ]


class _Weighted:
    """Draws from weighted values by bisecting cumulative weights (faster than choices)."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def draw(self, rng: random.Random) -> Any:
        at = rng.random() * self.cumulative[-1]
        return self.values[bisect.bisect_right(self.cumulative, at)]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - SQLite's timestamps are naive UTC


class _Form:
    """How values are written: asyncpg takes UUIDs and aware datetimes; SQLite takes UUIDs as
    32 hex digits and timestamps as naive UTC text, as SQLAlchemy stores them there."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def id(self, value: int) -> Any:
        return uuid.UUID(int=value) if self.postgres else f"{value:032x}"

    def of(self, value: uuid.UUID) -> Any:
        return value if self.postgres else value.hex

    def moment(self, seconds: float) -> Any:
        if self.postgres:
            return _EPOCH + timedelta(seconds=seconds)
        return (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat(" ", "microseconds")

    def flag(self, value: bool) -> Any:
        return value if self.postgres else int(value)


def _pick(rng: random.Random, values: Sequence[Any]) -> Any:
    """`rng.choice`, in a third of its time."""
    return values[int(rng.random() * len(values))]


def _uuid7(rng: random.Random, seconds: float) -> int:
    """A UUID v7 (as `kit.ids.new_id` makes) for a record created at `seconds`."""
    bits = rng.getrandbits(74)
    return (
        (int(seconds * 1000) << 80)
        | (0x7 << 76)
        | ((bits >> 62) << 64)
        | (0b10 << 62)
        | (bits & ((1 << 62) - 1))
    )


class _Builder:
    """Builds the rows of each batch of contacts, deterministically for a seed."""

    def __init__(
        self,
        form: _Form,
        tenant: uuid.UUID,
        tag_ids: list[uuid.UUID],
        total: int,
        seed: int,
        now: datetime,
    ) -> None:
        self.form = form
        self.tenant = form.of(tenant)
        self.tags = [form.of(tag_id) for tag_id in tag_ids]
        self.total = total
        self.rng = random.Random(seed)
        self.now = now.timestamp()
        self.start = self.now - YEARS * 365 * 86400
        self.today = now.date()
        self.stages = _Weighted(STAGES)
        self.statuses = _Weighted(STATUSES)
        self.tiers = _Weighted(TIERS)
        self.sources = _Weighted(SOURCES)
        self.industries = _Weighted(INDUSTRIES)
        self.activity_types = _Weighted(ACTIVITY_TYPES)
        self.cities = _Weighted([(city, 1 / (rank + 1)) for rank, city in enumerate(CITIES)])
        self.folded = {name: folded(name) for name in (*GIVEN_NAMES, *FAMILY_NAMES)}
        self.ascii = {
            name: folded(name).encode("ascii", "ignore").decode()
            for name in (*GIVEN_NAMES, *FAMILY_NAMES)
        }
        self.companies: list[tuple[Any, str, float]] = []
        """Each company's id, domain and creation time."""

    def company_rows(self) -> list[tuple[Any, ...]]:
        rng, form = self.rng, self.form
        rows = []
        count = max(1, self.total // 20)
        for n in range(count):
            created = self.start + (self.now - self.start) * (n + rng.random()) / count
            name = f"{_pick(rng, COMPANY_WORDS)} {_pick(rng, COMPANY_KINDS)} {n}"
            domain = f"{name.lower().replace(' ', '-')}.example"
            company_id = form.id(_uuid7(rng, created))
            self.companies.append((company_id, domain, created))
            rows.append(
                (
                    company_id,
                    self.tenant,
                    name,
                    domain,
                    self.industries.draw(rng) if rng.random() < 0.9 else None,
                    _pick(rng, SIZES),
                    f"https://{domain}",
                    _pick(rng, ("prospect", "customer", "customer", "vendor", "both")),
                    "active" if rng.random() < 0.9 else "inactive",
                    "{}",
                    1,
                    form.moment(created),
                    form.moment(created + (self.now - created) * rng.random()),
                )
            )
        return rows

    def batch(self, first: int, count: int) -> dict[str, list[tuple[Any, ...]]]:
        """The rows of contacts first..first+count-1 (numbered in order of creation)."""
        rng, form, tenant, now = self.rng, self.form, self.tenant, self.now
        contacts: list[tuple[Any, ...]] = []
        values: list[tuple[Any, ...]] = []
        tagged: list[tuple[Any, ...]] = []
        members: list[tuple[Any, ...]] = []
        activities: list[tuple[Any, ...]] = []
        span = now - self.start
        for n in range(first, first + count):
            # More contacts recently than three years ago (the density grows linearly).
            created = self.start + span * math.sqrt((n + rng.random()) / self.total)
            contact_id = form.id(_uuid7(rng, created))
            created_at = form.moment(created)
            given, family = _pick(rng, GIVEN_NAMES), _pick(rng, FAMILY_NAMES)
            stage = self.stages.draw(rng)
            company = None
            if rng.random() < 0.85:
                company = _pick(rng, self.companies)
            domain = company[1] if company and rng.random() < 0.6 else _pick(rng, MAIL_DOMAINS)
            email = (
                f"{self.ascii[given]}.{self.ascii[family]}.{n}@{domain}"
                if rng.random() < 0.95
                else None
            )
            phone = (
                f"+1{rng.randrange(2_000_000_000, 9_999_999_999)}" if rng.random() < 0.7 else None
            )
            name = f"{given} {family}"
            search = f"{self.folded[given]} {self.folded[family]}"
            search = " ".join(p for p in (search, search, email, phone) if p)
            properties = self._properties(stage, created)
            for key, value in properties.items():
                if isinstance(value, list):
                    for ordinal, item in enumerate(value):
                        values.append((tenant, contact_id, key, ordinal, "CONTACT", item, None))
                elif isinstance(value, str):
                    values.append((tenant, contact_id, key, 0, "CONTACT", value[:500], None))
                else:
                    values.append((tenant, contact_id, key, 0, "CONTACT", None, float(value)))
            for tag_id, share in zip(self.tags, TAG_SHARES, strict=True):
                if rng.random() < share:
                    tagged.append((contact_id, tag_id, tenant, created_at))
            if company is not None:
                companies = [company]
                if rng.random() < 0.1:
                    companies.append(_pick(rng, self.companies))
                for position, (company_id, _domain, _created) in enumerate(companies):
                    if position and company_id == companies[0][0]:
                        continue
                    members.append(
                        (
                            form.id(_uuid7(rng, created)),
                            tenant,
                            contact_id,
                            company_id,
                            _pick(rng, JOB_TITLES),
                            form.flag(position == 0),
                            "{}",
                            created_at,
                            created_at,
                        )
                    )
            last_activity = None
            for _ in range(self._activity_count(stage)):
                # Uniform over the contact's life: recent contacts are busier per day.
                occurred = created + (now - created) * rng.random()
                kind = self.activity_types.draw(rng)
                last_activity = max(last_activity or occurred, occurred)
                activities.append(
                    (
                        form.id(_uuid7(rng, occurred)),
                        tenant,
                        kind,
                        "CRM",
                        f"{kind.title()} with {given}",
                        "{}",
                        form.moment(occurred),
                        contact_id,
                        company[0] if company is not None and rng.random() < 0.5 else None,
                        "system",
                        form.moment(occurred),
                        form.moment(occurred),
                    )
                )
            contacts.append(
                (
                    contact_id,
                    tenant,
                    email,
                    name,
                    given,
                    family,
                    phone,
                    f"crm-{n}" if rng.random() < 0.3 else None,
                    self.statuses.draw(rng),
                    stage,
                    json.dumps(properties),
                    form.moment(last_activity) if last_activity is not None else None,
                    1,
                    search,
                    created_at,
                    form.moment(max(created, last_activity or created)),
                )
            )
        return {
            "contacts": contacts,
            "property_values": values,
            "contact_tags": tagged,
            "company_memberships": members,
            "activities": activities,
        }

    def _activity_count(self, stage: str | None) -> int:
        """About 1.3 per contact on average, more for customers and opportunities."""
        mean = 2.5 if stage in ("CUSTOMER", "OPPORTUNITY", "SALES_QUALIFIED") else 1.0
        count = 0
        # A geometric draw: cheap, and most contacts have none or one.
        while self.rng.random() < mean / (mean + 1):
            count += 1
        return count

    def _properties(self, stage: str | None, created: float) -> dict[str, Any]:
        """The custom values of one contact, as the API stores them (none for some keys)."""
        rng = self.rng
        paying = stage in ("CUSTOMER", "EVANGELIST")
        found: dict[str, Any] = {}
        if rng.random() < (0.95 if paying else 0.35):
            found["mrr"] = round(math.exp(rng.gauss(5.5, 1.2)))
        if rng.random() < 0.85:
            found["city"] = self.cities.draw(rng)
        if rng.random() < 0.8:
            found["tier"] = self.tiers.draw(rng)
        if rng.random() < 0.5:
            found["plans"] = rng.sample(PLANS, _pick(rng, (1, 1, 2, 2, 3)))
        if rng.random() < (0.9 if paying else 0.15):
            renewal = self.today + timedelta(days=rng.randrange(-60, 365))
            found["renewal"] = renewal.isoformat()
        if rng.random() < 0.9:
            found["newsletter"] = rng.random() < 0.6
        if rng.random() < 0.5:
            found["seats"] = min(500, 1 + int(rng.expovariate(1 / 25)))
        if rng.random() < 0.95:
            found["source"] = self.sources.draw(rng)
        if rng.random() < 0.25:
            found["nps"] = rng.randrange(0, 11)
        if rng.random() < 0.6:
            moment = created + (self.now - created) * rng.random() ** 0.3
            found["last_login"] = datetime.fromtimestamp(int(moment), UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        return found


_SECONDARY_INDEXES = """
SELECT index.relname, pg_get_indexdef(ix.indexrelid)
FROM pg_index AS ix
JOIN pg_class AS index ON index.oid = ix.indexrelid
JOIN pg_class AS owner ON owner.oid = ix.indrelid
WHERE owner.relname = $1 AND owner.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = ix.indexrelid)
"""


class _PostgresWriter:
    """COPY on a connection of its own (asyncpg, outside SQLAlchemy).

    Into an empty table, as `pg_restore` does: its indexes other than constraints are dropped
    before the load and built again after it (one sort instead of millions of insertions: a
    trigram GIN index especially). Foreign keys are not checked row by row where the session
    may skip them (`session_replication_role = replica`, a superuser's right; the rows refer
    to rows written before them). The contacts are always written with triggers on: they keep
    `live_counts`."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.dropped: list[str] = []
        self.unchecked = False

    async def open(self) -> None:
        await self.connection.execute("SET maintenance_work_mem = '512MB'")
        for table in COLUMNS:
            if await self.connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                continue
            for name, definition in await self.connection.fetch(_SECONDARY_INDEXES, table):
                await self.connection.execute(f'DROP INDEX "{name}"')
                self.dropped.append(definition)
        try:
            await self.connection.execute("SET session_replication_role = replica")
            await self.connection.execute("RESET session_replication_role")
            self.unchecked = True
        except asyncpg.InsufficientPrivilegeError:
            self.unchecked = False

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        unchecked = self.unchecked and table != "contacts"
        if unchecked:
            await self.connection.execute("SET session_replication_role = replica")
        try:
            await self.connection.copy_records_to_table(
                table, records=rows, columns=list(COLUMNS[table])
            )
        finally:
            if unchecked:
                await self.connection.execute("RESET session_replication_role")

    async def close(self, dsn: str) -> None:
        """Build the dropped indexes again (after a failed load too), two at a time: the
        load's other work is done, so both cores are free."""
        try:
            second = await asyncpg.connect(dsn)
            await second.execute("SET maintenance_work_mem = '512MB'")
            try:
                await asyncio.gather(
                    *(self._build(connection) for connection in (self.connection, second))
                )
            finally:
                await second.close()
        finally:
            await self.connection.close()

    async def _build(self, connection: asyncpg.Connection) -> None:
        while self.dropped:
            await connection.execute(self.dropped.pop(0))


class _SQLiteWriter:
    """`executemany` on a sqlite3 connection of its own, one transaction per batch."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading
        self.connection.execute("PRAGMA busy_timeout=10000")

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            columns = COLUMNS[table]
            statement = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            self.connection.executemany(statement, rows)

    def begin(self) -> None:
        self.connection.execute("BEGIN")

    def commit(self) -> None:
        self.connection.execute("COMMIT")


async def _define(database: Database, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """The ten property definitions and twenty tags, through the services; the tags' ids."""
    async with database.transaction(workspace=tenant_id) as session:
        context = Context.bound(session, tenant_id)
        properties = PropertyService(context)
        for key, label, kind, options in PROPERTIES:
            await properties.create(
                PropertyCreate(
                    key=key,
                    entity=PropertyEntity.CONTACT,
                    label=label,
                    type=kind,
                    options=[PropertyOption(value=v, label=v.title()) for v in options],
                )
            )
        tags = TagService(context)
        return [
            (await tags.create(TagCreate(key=f"t{n}", name=f"Segment {n}"))).id
            for n in range(1, len(TAG_SHARES) + 1)
        ]


def _postgres_dsn(database: Database) -> str:
    return database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def generate(
    database: Database,
    tenant_id: uuid.UUID,
    contacts: int = 100_000,
    seed: int = 1,
    *,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Generated:
    """Write `contacts` contacts and everything around them into the workspace `tenant_id`
    of a migrated database, then gather planner statistics."""
    began = time.perf_counter()
    report = Generated()
    tag_ids = await _define(database, tenant_id)
    postgres = database.dialect == "postgresql"
    builder = _Builder(_Form(postgres), tenant_id, tag_ids, contacts, seed, now or utcnow())
    report.seconds_setup = time.perf_counter() - began

    began = time.perf_counter()
    counts = dict.fromkeys(COLUMNS, 0)
    writer: _PostgresWriter | _SQLiteWriter
    if postgres:
        connection = await asyncpg.connect(_postgres_dsn(database))
        writer = _PostgresWriter(connection)
        await writer.open()
    else:
        path = database.engine.url.database
        assert path is not None
        writer = _SQLiteWriter(path)
    try:
        companies = builder.company_rows()
        await writer.write("companies", companies)
        counts["companies"] = len(companies)
        starts = list(range(0, contacts, CHUNK))
        pending = (
            asyncio.create_task(asyncio.to_thread(builder.batch, 0, min(CHUNK, contacts)))
            if starts
            else None
        )
        for index, first in enumerate(starts):
            assert pending is not None
            batch = await pending
            if index + 1 < len(starts):
                following = starts[index + 1]
                pending = asyncio.create_task(
                    asyncio.to_thread(builder.batch, following, min(CHUNK, contacts - following))
                )
            if isinstance(writer, _SQLiteWriter):
                writer.begin()
            for table, rows in batch.items():
                await writer.write(table, rows)
                counts[table] += len(rows)
            if isinstance(writer, _SQLiteWriter):
                writer.commit()
            if progress is not None:
                done = first + len(batch["contacts"])
                elapsed = time.perf_counter() - began
                progress(f"  {done:,} contacts written ({elapsed:.0f} s)")
    finally:
        if isinstance(writer, _PostgresWriter):
            rebuilt = time.perf_counter()
            await writer.close(_postgres_dsn(database))
            report.seconds_indexes = time.perf_counter() - rebuilt
        else:
            writer.connection.close()
    report.seconds_load = time.perf_counter() - began
    report.rows = counts

    began = time.perf_counter()
    async with database.engine.connect() as connection:
        if postgres:
            # ANALYZE; VACUUM too, as autovacuum would soon after an insert-only load: it sets
            # the visibility map that lets a count read an index alone, and it does not then
            # start in the middle of a measurement.
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
        else:
            await refresh_planner_statistics(connection)  # what `rapport migrate` runs
            await connection.commit()
    report.seconds_statistics = time.perf_counter() - began
    report.live_contacts = await _check_live_count(database, tenant_id)
    return report


async def _check_live_count(database: Database, tenant_id: uuid.UUID) -> int:
    """The workspace's live contacts, counted; fails unless `live_counts` says the same."""
    tenant = tenant_id if database.dialect == "postgresql" else tenant_id.hex
    async with database.engine.connect() as connection:
        counted = (
            await connection.exec_driver_sql(
                "SELECT count(*) FROM contacts WHERE tenant_id = "
                + ("$1" if database.dialect == "postgresql" else "?")
                + " AND status NOT IN ('DELETED', 'MERGED')",
                (tenant,),
            )
        ).scalar_one()
        kept = (
            await connection.exec_driver_sql(
                "SELECT coalesce(sum(live), 0) FROM live_counts WHERE entity = 'contact' "
                "AND tenant_id = " + ("$1" if database.dialect == "postgresql" else "?"),
                (tenant,),
            )
        ).scalar_one()
    if int(counted) != int(kept):
        raise RuntimeError(f"live_counts says {kept} live contacts, the table holds {counted}")
    return int(counted)


# A database kept between runs (`--keep DIR`): a PostgreSQL cluster directory or a SQLite file,
# with a note of the workspace the data was generated into.


@dataclass(frozen=True)
class Prepared:
    url: str
    tenant_id: uuid.UUID
    reused: bool
    generated: Generated | None


def _note_path(place: Path) -> Path:
    return place.with_name(place.name + ".json")


class _KeptCluster:
    """A PostgreSQL cluster in a directory that outlives the run (as `tests/pgcluster.py`'s
    throwaway one, started again on the same data when it exists)."""

    def __init__(self, root: Path) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.pgcluster import _binary, _free_port

        self._binary = _binary
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)

    def start(self) -> str:
        fresh = not (self.data / "PG_VERSION").exists()
        if fresh:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True)
            if self.as_root:
                shutil.chown(self.root, "postgres", "postgres")
            subprocess.run(
                self._cmd(
                    self._binary("initdb"), "-D", str(self.data), "-U", "postgres",
                    "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C",
                ),
                check=True,
                capture_output=True,
            )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            self._cmd(
                self._binary("pg_ctl"), "-D", str(self.data), "-o", options,
                "-l", str(self.root / "server.log"), "-w", "-t", "120", "start",
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            self._cmd(self._binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"),
            check=False,
            capture_output=True,
        )


@contextlib.contextmanager
def database_url(
    kind: str, keep: Path | None, contacts: int, seed: int
) -> Iterator[tuple[str, Path | None]]:
    """The URL of a database to generate into or reuse, and where its note is kept (None:
    throwaway). A kept database is named by its size and seed."""
    if kind == "postgres":
        if keep is None:
            sys.path.insert(0, str(ROOT))
            from tests.pgcluster import PgCluster

            cluster: Any = PgCluster()
            place = None
        else:
            place = keep.resolve() / f"pg-{contacts}-{seed}"
            cluster = _KeptCluster(place)
        try:
            yield cluster.start(), place
        finally:
            cluster.stop()
        return
    if keep is None:
        workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
        try:
            yield f"sqlite+inline:///{workdir / 'bench.db'}", None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    keep.mkdir(parents=True, exist_ok=True)
    place = keep.resolve() / f"sqlite-{contacts}-{seed}.db"
    yield f"sqlite+inline:///{place}", place


def _noted(place: Path | None) -> uuid.UUID | None:
    """The workspace generated into the database kept at `place`, if its generation
    finished (a SQLite file whose generation did not is removed)."""
    if place is None:
        return None
    note = _note_path(place)
    if note.exists():
        return uuid.UUID(json.loads(note.read_text())["tenant_id"])
    if place.is_file():
        place.unlink()
    return None


def _write_note(place: Path, tenant: uuid.UUID, generated: Generated) -> None:
    _note_path(place).write_text(json.dumps({"tenant_id": str(tenant), **asdict(generated)}))


async def prepare(
    url: str,
    place: Path | None,
    contacts: int,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> Prepared:
    """A migrated database holding a generated workspace: the one noted beside `place` when
    there is one, else a new one generated now (and noted)."""
    from rapport.kit.migrate import upgrade
    from rapport.tenancy.service import WorkspaceService

    noted = _noted(place)
    if noted is not None:
        database = Database(url)
        try:
            await upgrade(database)  # a kept database made before the latest migrations
        finally:
            await database.dispose()
        return Prepared(url, noted, True, None)
    database = Database(url)
    try:
        await upgrade(database)
        async with database.transaction(platform=SETUP) as session:
            tenant = (await WorkspaceService(session).create("Bench")).id
        generated = await generate(database, tenant, contacts, seed, progress=progress)
    finally:
        await database.dispose()
    if place is not None:
        _write_note(place, tenant, generated)
    return Prepared(url, tenant, False, generated)


def main() -> None:
    from rapport.domains import install

    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the database in this directory")
    args = parser.parse_args()
    with database_url(args.db, args.keep, args.contacts, args.seed) as (url, place):
        prepared = asyncio.run(prepare(url, place, args.contacts, args.seed, progress=print))
    print(f"{args.contacts:,} contacts on {args.db} (seed {args.seed})")
    if prepared.generated is None:
        print(f"  reused the database kept in {place}")
    else:
        print("\n".join(prepared.generated.summary()))


if __name__ == "__main__":
    main()
