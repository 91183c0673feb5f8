"""SQL expressions for figures that PostgreSQL and SQLite must compute alike: the seconds
between two timestamps, and sums of large integers (amounts of money) that cannot
overflow."""

from __future__ import annotations

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
