"""Activities in the query language: `has activity CALL within last 14 days` (at least one
activity of that type in that span) and `activityCount > 5` (every activity logged on the
record, notes included; `activityCount > 5 within last 30 days`, those of that span), on
contacts and on companies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rapport.kit.context import Context
from rapport.kit.cql.fields import (
    ActivityWindow,
    Field,
    FieldType,
    Predicate,
    Source,
    count_field,
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


def _count(record_column: Any) -> Field:
    return count_field(
        "activityCount",
        "Number of activities",
        record_column,
        Activity.occurred_at,
        cost=8,
        description="Activities logged on the record, notes included",
    )


async def of_contacts(_context: Context, _nested: bool) -> list[Field]:
    return [_has(Activity.contact_id), _count(Activity.contact_id)]


async def of_companies(_context: Context, _nested: bool) -> list[Field]:
    return [_has(Activity.company_id), _count(Activity.company_id)]
