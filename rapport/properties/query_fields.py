"""Custom properties in the query language, typed by their definitions: a NUMBER compares as
a number, a DATE as a date, a MULTI_SELECT by its items. Each is named by its key, and also
`properties.<key>` (always that property, whatever else has the same name). Conditions read
the indexed values (`property_values`), never the JSON of the record; text is indexed by its
first 500 characters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from rapport.kit.context import Context
from rapport.kit.cql.fields import Builder, Field, FieldType, Predicate, Source, column_builder
from rapport.kit.cql.tree import Op
from rapport.models.properties import (
    PropertyDefinition,
    PropertyEntity,
    PropertyType,
    PropertyValue,
)
from rapport.properties.repository import PropertyRepository

P, T = PropertyType, FieldType
_TYPES = {
    P.TEXT: T.TEXT,
    P.TEXTAREA: T.TEXT,
    P.EMAIL: T.TEXT,
    P.PHONE: T.TEXT,
    P.URL: T.TEXT,
    P.NUMBER: T.NUMBER,
    P.CURRENCY: T.NUMBER,
    P.BOOLEAN: T.BOOLEAN,
    P.DATE: T.DATE,
    P.DATETIME: T.DATETIME,
    P.SELECT: T.CHOICE,
    P.MULTI_SELECT: T.MULTI_CHOICE,
}


def _stored(definition: PropertyDefinition, value: Any) -> Any:
    """A typed query value in the form `property_values` holds it."""
    if isinstance(value, tuple):
        return tuple(_stored(definition, item) for item in value)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and definition.type == P.EMAIL:
        return value.lower()
    return value


def _builder(definition: PropertyDefinition) -> Builder:
    kind = _TYPES[definition.type]
    column = (
        PropertyValue.number_value if kind in (T.NUMBER, T.BOOLEAN) else PropertyValue.text_value
    )
    compare = column_builder(column, kind, in_subquery=True)

    def build(op: Op, value: Any) -> Predicate:
        rows = select(PropertyValue.record_id).where(
            PropertyValue.entity == definition.entity, PropertyValue.key == definition.key
        )
        if op == Op.EXISTS:
            return rows
        stored = _stored(definition, value)
        if op == Op.CONTAINS_ALL:
            return (
                rows.where(column.in_(stored))
                .group_by(PropertyValue.record_id)
                .having(func.count(column.distinct()) == len(stored))
            )
        return rows.where(compare(Op.IN if op == Op.CONTAINS_ANY else op, stored))

    return build


def _fields(definition: PropertyDefinition) -> list[Field]:
    field = Field(
        definition.key,
        _TYPES[definition.type],
        definition.label,
        _builder(definition),
        options=tuple(str(option["value"]) for option in definition.options or ()),
        source=Source.CUSTOM,
        cost=2,
        writable=definition.archived_at is None,
        description=definition.description,
    )
    return [field, replace(field, name=f"properties.{definition.key}")]


def provider(entity: PropertyEntity) -> Callable[[Context, bool], Awaitable[list[Field]]]:
    async def provide(context: Context, _nested: bool) -> list[Field]:
        definitions = await PropertyRepository(context.session).of_entity(entity)
        return [field for d in definitions.values() for field in _fields(d)]

    return provide
