"""SQL expressions for figures that PostgreSQL and SQLite must compute alike: the seconds
between two timestamps, sums of large integers (amounts of money) that cannot overflow, and
the hour or day a timestamp falls in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Label, SQLColumnExpression, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SUM_PART = 10**9
"""Where `exact_sum` cuts each value: either part of a 64-bit value is below 10^10, so the
parts of up to 900 million values sum inside 64 bits."""


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds, as a number (fractions kept). PostgreSQL extracts the
    interval's epoch; SQLite, which stores UTC timestamps as text, subtracts Julian days."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later}) - ({earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def exact_sum(value: SQLColumnExpression[int | None], name: str) -> tuple[Label[Any], Label[Any]]:
    """The sum of a non-negative integer expression (nulls left out) as two sums, of its parts
    above and below `SUM_PART`, labelled `<name>_high` and `<name>_low`: SQLite's sum() fails
    on a total beyond 64 bits, which a few amounts of fifteen digits reach. `summed` puts them
    back together."""
    return (
        func.sum(value // SUM_PART).label(f"{name}_high"),
        func.sum(value % SUM_PART).label(f"{name}_low"),
    )


def summed(row: Any, name: str) -> int:
    """The total `exact_sum(..., name)` computed in `row` (0 when it summed no value)."""
    mapping = row._mapping
    return int(mapping[f"{name}_high"] or 0) * SUM_PART + int(mapping[f"{name}_low"] or 0)


class bucket_start(FunctionElement[Any]):
    """The start of the hour or day (UTC) a timestamp falls in: `bucket_start(column,
    "hour")`; read it with `as_time` (SQLite gives text)."""

    name = "bucket_start"
    inherit_cache = True


_SQLITE_BUCKETS = {"hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00"}


@compiles(bucket_start, "postgresql")
def _bucket_start_postgresql(element: bucket_start, compiler: SQLCompiler, **kw: Any) -> str:
    moment, interval = element.clauses
    unit = interval.value
    if unit not in _SQLITE_BUCKETS:
        raise ValueError(f"Unknown interval {unit!r}")
    return f"date_trunc('{unit}', ({compiler.process(moment, **kw)}) AT TIME ZONE 'UTC')"


@compiles(bucket_start, "sqlite")
def _bucket_start_sqlite(element: bucket_start, compiler: SQLCompiler, **kw: Any) -> str:
    moment, interval = element.clauses
    pattern = _SQLITE_BUCKETS[interval.value]
    return f"strftime('{pattern}', {compiler.process(moment, **kw)})"


def as_time(value: datetime | str) -> datetime:
    """A bucket's start as the driver gives it, as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
