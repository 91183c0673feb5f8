"""Activities in the query language: `has activity CALL within last 14 days` (at least one
activity of that type in that span) and `activityCount > 5` (every activity logged on the
record, notes included), on contacts and on companies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, not_, select, true

from rapport.kit.context import Context
from rapport.kit.cql.fields import (
    ActivityWindow,
    Excluding,
    Field,
    FieldType,
    Predicate,
    Source,
)
from rapport.kit.cql.tree import Op
from rapport.models.activities import Activity, ActivityType


def _has(record_column: Any) -> Field:
    def build(op: Op, window: ActivityWindow) -> Predicate:
        stmt = select(record_column).where(record_column.is_not(None))
        if window.activity_type is not None:
            stmt = stmt.where(Activity.type == window.activity_type)
        if window.since is not None:
            stmt = stmt.where(Activity.occurred_at >= window.since)
        if window.until is not None:
            stmt = stmt.where(Activity.occurred_at <= window.until)
        return stmt

    return Field(
        "activity",
        FieldType.ACTIVITY,
        "Activity",
        build,
        options=tuple(kind.value for kind in ActivityType),
        source=Source.RELATION,
        cost=4,
        description="has activity [TYPE] [within last N days]",
    )


def _holds(op: Op, count: Any, value: Any) -> Any:
    """`count op value`, for a SQL count or for the number 0."""
    if op == Op.EQ:
        return count == value
    if op == Op.IN:
        return count.in_(value) if isinstance(count, ColumnElement) else count in value
    if op == Op.BETWEEN:
        low, high = value
        return count.between(low, high) if isinstance(count, ColumnElement) else low <= 0 <= high
    if op == Op.GT:
        return count > value
    if op == Op.GTE:
        return count >= value
    if op == Op.LT:
        return count < value
    if op == Op.LTE:
        return count <= value
    raise AssertionError(op)


def _count(record_column: Any) -> Field:
    def build(op: Op, value: Any) -> Predicate:
        if op == Op.EXISTS:
            return true()
        counted = select(record_column).where(record_column.is_not(None)).group_by(record_column)
        condition = _holds(op, func.count(), value)
        if _holds(op, 0, value):
            # Records with no activity match too: every record but those whose count fails.
            return Excluding(counted.having(not_(condition)))
        return counted.having(condition)

    return Field(
        "activityCount",
        FieldType.NUMBER,
        "Number of activities",
        build,
        source=Source.RELATION,
        cost=8,
    )


async def of_contacts(_context: Context, _nested: bool) -> list[Field]:
    return [_has(Activity.contact_id), _count(Activity.contact_id)]


async def of_companies(_context: Context, _nested: bool) -> list[Field]:
    return [_has(Activity.company_id), _count(Activity.company_id)]
