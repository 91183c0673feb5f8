"""`tag` in the query language: the tags a contact or company carries, named by key (any
case) or id. `tag = vip` is "carries vip", `tag in (a, b)` "carries a or b", `tag containsAll
(a, b)` "carries both", `tag exists` "carries any". Names are turned into tag ids when the
query is compiled, so the statement names the tags by id (the planner sees which) and a tag
that does not exist matches nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import false, func, select

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, Predicate, Source
from rapport.kit.cql.tree import Op
from rapport.kit.ids import parse_uuid
from rapport.models.tags import CompanyTag, ContactTag
from rapport.tags.repository import TagRepository


def _resolver(tags: dict[str, uuid.UUID]) -> Any:
    ids = set(tags.values())

    def resolve(ref: str) -> uuid.UUID | None:
        tag_id = parse_uuid(ref)
        if tag_id is not None and tag_id in ids:
            return tag_id
        return tags.get(ref.lower())

    return resolve


def _tag_field(
    link: type[ContactTag] | type[CompanyTag], record_column: Any, tags: dict[str, uuid.UUID]
) -> Field:
    resolve = _resolver(tags)

    def build(op: Op, value: Any) -> Predicate:
        carrying = select(record_column)
        if op == Op.EXISTS:
            return carrying
        named = [resolve(ref) for ref in value]
        found = sorted({tag_id for tag_id in named if tag_id is not None})
        if op == Op.CONTAINS_ANY:
            return carrying.where(link.tag_id.in_(found)) if found else false()
        if op == Op.CONTAINS_ALL:
            if None in named:
                return false()  # a tag that does not exist cannot be carried
            return (
                carrying.where(link.tag_id.in_(found))
                .group_by(record_column)
                .having(func.count(link.tag_id.distinct()) == len(found))
            )
        raise AssertionError(op)

    return Field(
        "tag",
        FieldType.MULTI_CHOICE,
        "Tags",
        build,
        source=Source.RELATION,
        cost=3,
        description="A tag's key (any case) or id",
    )


async def _tags(context: Context) -> dict[str, uuid.UUID]:
    return await TagRepository(context.session).ids_by_key()


async def of_contacts(context: Context, _nested: bool) -> list[Field]:
    return [_tag_field(ContactTag, ContactTag.contact_id, await _tags(context))]


async def of_companies(context: Context, _nested: bool) -> list[Field]:
    return [_tag_field(CompanyTag, CompanyTag.company_id, await _tags(context))]
