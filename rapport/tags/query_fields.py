"""`tag` in the query language: the tags a contact or company carries, named by key (any
case) or id. `tag = vip` is "carries vip", `tag in (a, b)` "carries a or b", `tag containsAll
(a, b)` "carries both", `tag exists` "carries any"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, or_, select

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, Predicate, Source
from rapport.kit.cql.tree import Op
from rapport.kit.ids import parse_uuid
from rapport.models.tags import CompanyTag, ContactTag, Tag


def _tags_named(refs: tuple[str, ...]) -> Select[Any]:
    keys = [ref.lower() for ref in refs]
    ids = [tag_id for ref in refs if (tag_id := parse_uuid(ref)) is not None]
    named = Tag.key.in_(keys) if not ids else or_(Tag.key.in_(keys), Tag.id.in_(ids))
    return select(Tag.id).where(named)


def _tag_field(link: type[ContactTag] | type[CompanyTag], record_column: Any) -> Field:
    def build(op: Op, value: Any) -> Predicate:
        carrying = select(record_column)
        if op == Op.EXISTS:
            return carrying
        if op == Op.CONTAINS_ANY:
            return carrying.where(link.tag_id.in_(_tags_named(value)))
        if op == Op.CONTAINS_ALL:
            # Every value must name a tag (a key and an id may name the same one), and the
            # record must carry each tag they name.
            named = _tags_named(value)
            every_named = [exists(_tags_named((ref,))) for ref in value]
            wanted = select(func.count()).select_from(named.subquery()).scalar_subquery()
            return (
                carrying.where(link.tag_id.in_(named), *every_named)
                .group_by(record_column)
                .having(func.count(link.tag_id.distinct()) == wanted)
            )
        raise AssertionError(op)

    return Field(
        "tag",
        FieldType.MULTI_CHOICE,
        "Tags",
        build,
        source=Source.RELATION,
        cost=2,
        description="A tag's key (any case) or id",
    )


async def of_contacts(_context: Context, _nested: bool) -> list[Field]:
    return [_tag_field(ContactTag, ContactTag.contact_id)]


async def of_companies(_context: Context, _nested: bool) -> list[Field]:
    return [_tag_field(CompanyTag, CompanyTag.company_id)]
