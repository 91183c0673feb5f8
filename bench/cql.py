"""The query language at size: page 1 (25 contacts, newest first) with its exact total, for
queries of several shapes over one workspace of generated data (`bench.generate`), run as
`POST /query` runs them, in process: the text parsed, the contact catalogue built (custom
properties read), the query compiled, the page and the count run through the contacts
repository, the rows validated as `ContactOut` (`QueryService.run`, on a read session bound to
the workspace).

Baseline in the same run, alternating with it: the same rows from hand-written SQL (the same
conditions, with joins, the values bound), page then count, on the same engine. The report
gives p50 and p95 of each, the total, and the ratio of the p50s; the page's ids and the total
are checked to be the same both ways.

    .venv/bin/python -m bench.cql [--db postgres|sqlite|both] [--contacts 100000]
                                  [--samples 30] [--keep DIR] [--explain] [--analyze]
                                  [--variants]

`--keep DIR` keeps the generated database in DIR and reuses it on the next run with the same
size and seed. `--explain` prints the plans (EXPLAIN, not run) of the CQL statements of the
three-condition query, and on PostgreSQL how often each of its prepared statements (and the
baseline's) ran with a generic plan; `--analyze` prints EXPLAIN ANALYZE of both its CQL and its
baseline statements (EXPLAIN QUERY PLAN on SQLite). `--variants` times that query's statements
as SQL alone in variants: as compiled, without the NULL guards, with the tag resolved to its id,
then with two more indexes (created for the measurement and dropped after it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Uuid, bindparam, event, text

from bench.figures import DIALECTS, Figure
from bench.generate import database_url, prepare
from rapport.domains import install
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.cql.query import parse_query
from rapport.kit.db import Database, UTCDateTime, refresh_planner_statistics
from rapport.kit.pagination import PageRequest, SortSpec
from rapport.kit.tenant_guard import open_platform_wide
from rapport.query.schemas import QueryEntity
from rapport.query.service import QueryService

WARM = 6
"""Runs before timing: PostgreSQL plans a prepared statement for its values five times, then
may keep a generic plan; the timed runs are the steady state."""

PAGE = PageRequest(skip=0, take=25, sort=SortSpec("createdAt", True))

_PAGE_SQL = (
    "SELECT c.* FROM contacts AS c {joins} "
    "WHERE c.tenant_id = :tenant AND c.status NOT IN ('DELETED', 'MERGED') {where} "
    "ORDER BY c.created_at DESC, c.id DESC LIMIT 25"
)
_COUNT_SQL = (
    "SELECT count(*) FROM contacts AS c {joins} "
    "WHERE c.tenant_id = :tenant AND c.status NOT IN ('DELETED', 'MERGED') {where}"
)
_VALUE = (
    "JOIN property_values AS v ON v.tenant_id = :tenant AND v.record_id = c.id "
    "AND v.entity = 'CONTACT' AND v.key = '{key}'"
)
_VALUES = (
    "SELECT record_id FROM property_values WHERE tenant_id = :tenant AND entity = 'CONTACT' "
    "AND key = '{key}' AND {condition}"
)


@dataclass(frozen=True)
class Shape:
    label: str
    where: str
    """The query, as `POST /query` takes it."""
    joins: str
    condition: str
    """The hand-written equivalent: joins and conditions added to the contacts' own."""
    values: Callable[[], dict[str, Any]]


SHAPES = (
    Shape(
        "3 conditions (property, tag, field)",
        "mrr > 500 AND tag = t3 AND lifecycleStage = CUSTOMER",
        _VALUE.format(key="mrr")
        + " JOIN contact_tags AS ct ON ct.tenant_id = :tenant AND ct.contact_id = c.id"
        " JOIN tags AS t ON t.tenant_id = :tenant AND t.id = ct.tag_id",
        "AND c.lifecycle_stage = :stage AND v.number_value > :mrr AND t.key = :tag",
        lambda: {"stage": "CUSTOMER", "mrr": 500, "tag": "t3"},
    ),
    Shape(
        "name contains",
        "name contains 'ana'",
        "",
        "AND lower(c.name) LIKE :pattern",
        lambda: {"pattern": "%ana%"},
    ),
    Shape(
        "custom text contains",
        "city contains 'ber'",
        _VALUE.format(key="city"),
        "AND lower(v.text_value) LIKE :pattern",
        lambda: {"pattern": "%ber%"},
    ),
    Shape(
        "company.industry =",
        "company.industry = SaaS",
        "",
        "AND EXISTS (SELECT 1 FROM company_memberships AS m JOIN companies AS co "
        "ON co.tenant_id = :tenant AND co.id = m.company_id "
        "WHERE m.tenant_id = :tenant AND m.contact_id = c.id AND co.industry = :industry)",
        lambda: {"industry": "SaaS"},
    ),
    Shape(
        "has activity CALL, last 30 days",
        "has activity CALL within last 30 days",
        "",
        "AND EXISTS (SELECT 1 FROM activities AS a WHERE a.tenant_id = :tenant "
        "AND a.contact_id = c.id AND a.type = 'CALL' AND a.occurred_at >= :since)",
        lambda: {"since": utcnow() - timedelta(days=30)},
    ),
    Shape(
        "OR of two properties",
        "mrr > 5000 OR seats > 200",
        "",
        "AND c.id IN ("
        + _VALUES.format(key="mrr", condition="number_value > :mrr")
        + " UNION "
        + _VALUES.format(key="seats", condition="number_value > :seats")
        + ")",
        lambda: {"mrr": 5000, "seats": 200},
    ),
    Shape(
        "no match: the fixed cost of a query",
        "email = 'nobody@example.invalid'",
        "",
        "AND c.email = :email",
        lambda: {"email": "nobody@example.invalid"},
    ),
)


def _statement(template: str, shape: Shape) -> Any:
    """Bound values as the app binds them (a UUID, an aware datetime)."""
    typed = [bindparam("tenant", type_=Uuid())]
    if ":since" in shape.condition:
        typed.append(bindparam("since", type_=UTCDateTime()))
    return text(template.format(joins=shape.joins, where=shape.condition)).bindparams(*typed)


Result = tuple[list[uuid.UUID], int]


class Runner:
    """Runs one shape either way, each in a read session of its own (as a request has)."""

    def __init__(self, database: Database, tenant: uuid.UUID) -> None:
        self.database = database
        self.tenant = tenant

    async def cql(self, shape: Shape) -> Result:
        session = self.database.reader()
        try:
            context = Context.bound(session, self.tenant)
            node = parse_query(shape.where, None)
            data, meta = await QueryService(context).run(QueryEntity.CONTACT, node, PAGE)
        finally:
            await session.close()
        assert meta.total is not None
        return [contact.id for contact in data], meta.total

    async def baseline(self, shape: Shape) -> Result:
        session = self.database.reader()
        try:
            open_platform_wide(session, "the benchmark's hand-written baseline")
            values = {"tenant": self.tenant, **shape.values()}
            rows = (await session.execute(_statement(_PAGE_SQL, shape), values)).all()
            total = (await session.execute(_statement(_COUNT_SQL, shape), values)).scalar_one()
        finally:
            await session.close()
        return [_as_uuid(row.id) for row in rows], int(total)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value))


async def _timed(work: Callable[[], Awaitable[Result]]) -> float:
    began = time.perf_counter()
    await work()
    return (time.perf_counter() - began) * 1000


@dataclass(frozen=True)
class Measured:
    shape: Shape
    total: int
    cql: list[float]
    baseline: list[float]
    same: bool


async def measure(runner: Runner, shape: Shape, samples: int) -> Measured:
    """Both ways alternately (each first in every other round), after warming both."""
    cql_ids, cql_total = await runner.cql(shape)
    base_ids, base_total = await runner.baseline(shape)
    for _ in range(WARM - 1):
        await runner.cql(shape)
        await runner.baseline(shape)
    cql, baseline = [], []
    for round_ in range(samples):
        if round_ % 2:
            baseline.append(await _timed(lambda: runner.baseline(shape)))
            cql.append(await _timed(lambda: runner.cql(shape)))
        else:
            cql.append(await _timed(lambda: runner.cql(shape)))
            baseline.append(await _timed(lambda: runner.baseline(shape)))
    same = cql_ids == base_ids and cql_total == base_total
    return Measured(shape, cql_total, cql, baseline, same)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def table(results: list[Measured]) -> list[str]:
    lines = [
        f"  {'scenario':<36} {'rows':>9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'baseline p50':>13} {'ratio':>6}"
    ]
    for result in results:
        cql, base = statistics.median(result.cql), statistics.median(result.baseline)
        check = "" if result.same else "  (page or total differs from the baseline's!)"
        lines.append(
            f"  {result.shape.label:<36} {result.total:>9,} {cql:>8.1f} {_p95(result.cql):>8.1f} "
            f"{base:>13.1f} {cql / base:>6.2f}{check}"
        )
    lines.append("  queries:")
    lines += [f"    {result.shape.label:<36} {result.shape.where}" for result in results]
    return lines


# Plans: the statements a run sends are captured at the driver and explained as they were sent.


@contextmanager
def captured(database: Database) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


def _on_contacts(statement: str) -> bool:
    """The page and the count of a list of contacts (not the catalogue's reads)."""
    head = " ".join(statement.split())[:400].lower()
    return "from contacts" in head or "count(*)" in head


async def statements_of(
    database: Database, work: Callable[[], Awaitable[Result]]
) -> list[tuple[str, Any]]:
    """The page and count statements one run sends, with their parameters, as sent."""
    with captured(database) as statements:
        await work()
    return [
        (statement, parameters) for statement, parameters in statements if _on_contacts(statement)
    ]


async def explain(
    database: Database, statements: list[tuple[str, Any]], analyze: bool
) -> list[str]:
    postgres = database.dialect == "postgresql"
    if postgres:
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    else:
        prefix = "EXPLAIN QUERY PLAN "
    lines = []
    async with database.engine.connect() as connection:
        for statement, parameters in statements:
            lines.append("  " + " ".join(statement.split()))
            lines.append(f"  parameters: {parameters}")
            plan = await connection.exec_driver_sql(prefix + statement, parameters)
            for row in plan:
                lines.append("    " + (row[0] if postgres else f"{row[1]:>3} {row[3]}"))
            lines.append("")
        await connection.rollback()
    return lines


async def plan_kinds(database: Database, statements: list[tuple[str, Any]]) -> list[str]:
    """How often PostgreSQL ran these statements (prepared by asyncpg on the pooled
    connection) with a generic plan, planned once for any values, or with a custom one
    (planned for the values of the run): after five runs it keeps a generic plan when that
    does not look costlier."""
    lines = []
    async with database.engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        )
        kinds = {statement: (generic, custom) for statement, generic, custom in rows}
    for statement, _ in statements:
        generic, custom = kinds.get(statement, (0, 0))
        head = " ".join(statement.split())[:60]
        lines.append(f"  generic {generic:>4}  custom {custom:>4}  {head}...")
    return lines


# Variants of the three-condition query's statements, to see what would make them faster:
# the statements the compiler writes, less its NULL guards, with the tag resolved to its id,
# then with two more indexes (created for the measurement, then dropped).

_CQL_LIKE = (
    "FROM contacts AS c WHERE c.status NOT IN ('DELETED', 'MERGED') "
    "AND c.id IN (SELECT record_id FROM property_values WHERE entity = 'CONTACT' "
    "AND key = 'mrr' AND {guard}number_value > :mrr AND tenant_id = :tenant) "
    "AND c.id IN (SELECT contact_id FROM contact_tags WHERE {tag} AND tenant_id = :tenant) "
    "AND {stage_guard}c.lifecycle_stage = :stage AND c.tenant_id = :tenant"
)
_BY_KEY = "tag_id IN (SELECT id FROM tags WHERE key = :tag AND tenant_id = :tenant)"
VARIANTS = (
    ("as compiled (NULL guards, tag by key)", True, _BY_KEY, ()),
    ("without the NULL guards", False, _BY_KEY, ()),
    ("without guards, tag id resolved first", False, "tag_id = :tag_id", ()),
    (
        "+ index on live contacts' stage",
        False,
        "tag_id = :tag_id",
        (
            "CREATE INDEX bench_contacts_stage ON contacts (tenant_id, lifecycle_stage, id) "
            "WHERE status NOT IN ('DELETED', 'MERGED')",
        ),
    ),
    (
        "+ contact_tags index led by the workspace",
        False,
        "tag_id = :tag_id",
        (
            "CREATE INDEX bench_contacts_stage ON contacts (tenant_id, lifecycle_stage, id) "
            "WHERE status NOT IN ('DELETED', 'MERGED')",
            "CREATE INDEX bench_contact_tags_tag ON contact_tags (tenant_id, tag_id, contact_id)",
        ),
    ),
)


async def _statistics(database: Database) -> None:
    async with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("ANALYZE contacts")
            await autocommit.exec_driver_sql("ANALYZE contact_tags")
        else:
            await refresh_planner_statistics(connection)
            await connection.commit()


async def _ddl(database: Database, statements: tuple[str, ...] | list[str]) -> None:
    async with database.engine.begin() as connection:
        for statement in statements:
            await connection.exec_driver_sql(statement)


async def _generic_plans(database: Database, sent: list[tuple[str, Any]]) -> list[int]:
    """How many times PostgreSQL has run each of these prepared statements with a generic
    plan so far (on the pooled connection)."""
    async with database.engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT statement, generic_plans FROM pg_prepared_statements"
        )
        generic = dict(rows.tuples().all())
    return [int(generic.get(statement, 0)) for statement, _ in sent]


async def variants(database: Database, tenant: uuid.UUID, samples: int) -> list[str]:
    """Page then count of each variant, through the same engine as the baseline."""
    async with database.engine.connect() as connection:
        tag_id = (
            await connection.execute(
                text("SELECT id FROM tags WHERE tenant_id = :tenant AND key = 't3'").bindparams(
                    bindparam("tenant", type_=Uuid())
                ),
                {"tenant": tenant},
            )
        ).scalar_one()
    values = {
        "tenant": tenant,
        "mrr": 500,
        "stage": "CUSTOMER",
        "tag": "t3",
        "tag_id": _as_uuid(tag_id),
    }
    postgres = database.dialect == "postgresql"
    lines = [
        f"  {'variant':<44} {'rows':>7} {'page p50':>9} {'count p50':>10}"
        + ("  generic plans of the page, the count" if postgres else "")
    ]
    for label, guards, tag, indexes in VARIANTS:
        body = _CQL_LIKE.format(
            guard="number_value IS NOT NULL AND " if guards else "",
            stage_guard="c.lifecycle_stage IS NOT NULL AND " if guards else "",
            tag=tag,
        )
        typed = [bindparam("tenant", type_=Uuid())]
        if ":tag_id" in body:
            typed.append(bindparam("tag_id", type_=Uuid()))
        page = text(f"SELECT c.* {body} ORDER BY c.created_at DESC, c.id DESC LIMIT 26")
        count = text(f"SELECT count(*) {body}")
        page, count = page.bindparams(*typed), count.bindparams(*typed)
        await _ddl(database, indexes)
        if indexes:
            await _statistics(database)
        try:
            pages, counts, total = [], [], 0
            with captured(database) as sent:
                for _ in range(WARM + samples):
                    async with database.engine.connect() as connection:
                        began = time.perf_counter()
                        (await connection.execute(page, values)).all()
                        pages.append((time.perf_counter() - began) * 1000)
                        began = time.perf_counter()
                        total = (await connection.execute(count, values)).scalar_one()
                        counts.append((time.perf_counter() - began) * 1000)
                    if len(pages) == WARM and postgres:
                        before = await _generic_plans(database, sent[:2])
            if postgres:
                after = await _generic_plans(database, sent[:2])
                plans = ", ".join(
                    f"{later - earlier}/{samples}"
                    for earlier, later in zip(before, after, strict=True)
                )
        finally:
            names = [statement.split()[2] for statement in indexes]
            await _ddl(database, [f"DROP INDEX {name}" for name in names])
        lines.append(
            f"  {label:<44} {total:>7,} {statistics.median(pages[WARM:]):>9.1f} "
            f"{statistics.median(counts[WARM:]):>10.1f}" + (f"  {plans}" if postgres else "")
        )
    if any(indexes for *_, indexes in VARIANTS):
        await _statistics(database)
    return lines


async def scenario(
    url: str,
    place: Path | None,
    args: argparse.Namespace,
    dialect: str,
    figures: list[Figure] | None = None,
) -> list[str]:
    prepared = await prepare(url, place, args.contacts, args.seed, progress=print)
    lines = []
    if prepared.generated is None:
        lines.append(f"  database reused from {place}")
    else:
        lines += prepared.generated.summary()
    database = Database(url)
    try:
        runner = Runner(database, prepared.tenant_id)
        results = [await measure(runner, shape, args.samples) for shape in SHAPES]
        lines.append(f"  {args.samples} samples each (p50, p95), after {WARM} warm-up runs")
        lines += table(results)
        if figures is not None:
            figures.extend(
                Figure(
                    "cql",
                    DIALECTS[dialect],
                    f"POST /query p50, {result.shape.label}, {args.contacts:,} contacts"
                    + ("" if result.same else " (differs from the baseline!)"),
                    statistics.median(result.cql),
                    "ms",
                    statistics.median(result.baseline),
                    "hand-written SQL",
                    args.contacts,
                )
                for result in results
            )
        first = SHAPES[0]
        cql = await statements_of(database, lambda: runner.cql(first))
        baseline = await statements_of(database, lambda: runner.baseline(first))
        if dialect == "postgresql" and (args.explain or args.analyze):
            lines.append("How the steady state ran (CQL page and count, then the baseline's):")
            lines += await plan_kinds(database, cql + baseline)
        if args.explain:
            lines.append(f"CQL statements of '{first.where}' (EXPLAIN, not run):")
            lines += await explain(database, cql, analyze=False)
        if args.analyze:
            lines.append(f"CQL statements of '{first.where}', run:")
            lines += await explain(database, cql, analyze=True)
            lines.append("The hand-written statements, run:")
            lines += await explain(database, baseline, analyze=True)
        if args.variants:
            lines.append(f"Variants of the statements of '{first.where}' (SQL alone):")
            lines += await variants(database, prepared.tenant_id, args.samples)
    finally:
        await database.dispose()
    return lines


def figures(
    databases: str = "both",
    contacts: int = 100_000,
    samples: int = 30,
    keep: Path | None = None,
    seed: int = 1,
) -> list[Figure]:
    args = argparse.Namespace(
        contacts=contacts,
        seed=seed,
        samples=samples,
        explain=False,
        analyze=False,
        variants=False,
    )
    found: list[Figure] = []
    kinds = ("postgres", "sqlite") if databases == "both" else (databases,)
    for kind in kinds:
        dialect = "postgresql" if kind == "postgres" else "sqlite"
        with database_url(kind, keep, contacts, seed) as (url, place):
            asyncio.run(scenario(url, place, args, dialect, found))
    return found


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("both", "postgres", "sqlite"), default="postgres")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the database in this dir")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--analyze", action="store_true")
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also time variants of the 3-condition statements (creates and drops indexes)",
    )
    args = parser.parse_args()
    kinds = ("postgres", "sqlite") if args.db == "both" else (args.db,)
    report = [f"POST /query page 1 (25, newest first) with its total, {args.contacts:,} contacts"]
    for kind in kinds:
        dialect = "postgresql" if kind == "postgres" else "sqlite"
        with database_url(kind, args.keep, args.contacts, args.seed) as (url, place):
            lines = asyncio.run(scenario(url, place, args, dialect))
        report.append("PostgreSQL" if kind == "postgres" else "SQLite")
        report += lines
    print("\n".join(report))


if __name__ == "__main__":
    main()
