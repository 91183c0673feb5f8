"""`list` in the query language: membership of a list (`list = <id>`, `list in (a, b)`, `list
exists`: in any list). Dynamic lists may use each other, never in a cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, Predicate, Source
from rapport.kit.cql.tree import Op
from rapport.models.lists import ListMember

LIST_FIELD = "list"


def _build(op: Op, value: Any) -> Predicate:
    members = select(ListMember.record_id)
    if op == Op.EXISTS:
        return members
    ids = value if isinstance(value, tuple) else (value,)
    return members.where(ListMember.list_id.in_(ids))


async def provide(_context: Context, _nested: bool) -> list[Field]:
    return [
        Field(
            LIST_FIELD,
            FieldType.ID,
            "List membership",
            _build,
            source=Source.RELATION,
            cost=2,
            description="A list's id: the record is a member of it",
            related_records="list",
        )
    ]
