"""A contact's email consent in the query language: `emailStatus = subscribed`,
`emailStatus in (bounced, complained)`, `emailStatus exists` (any status recorded)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, Predicate, Source
from rapport.kit.cql.tree import Op
from rapport.models.consent import ConsentStatus, EmailConsent


def _build(op: Op, value: Any) -> Predicate:
    recorded = select(EmailConsent.contact_id)
    if op == Op.EXISTS:
        return recorded
    statuses = value if isinstance(value, tuple) else (value,)
    return recorded.where(EmailConsent.status.in_([ConsentStatus(s) for s in statuses]))


async def provide(_context: Context, _nested: bool) -> list[Field]:
    return [
        Field(
            "emailStatus",
            FieldType.CHOICE,
            "Email consent",
            _build,
            options=tuple(status.value for status in ConsentStatus),
            source=Source.RELATION,
            cost=2,
            description="The contact's email consent (no status: none recorded)",
        )
    ]
