"""Which fields an export can write and how it reads them: the entity's own fields that have a
column (from the query catalogue) and its custom properties (read from the record's
`properties` JSON, once per row, whatever the number of property columns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, type_coerce

from rapport.exports.text import field_text, property_text
from rapport.kit.cql.fields import Catalog, FieldLookupError, FieldType, Source
from rapport.kit.errors import ErrorDetail, ValidationFailed

MAX_COLUMNS = 200
PROPERTY_PREFIX = "properties."


@dataclass(frozen=True)
class Column:
    """One column of the file: its name (a field's own name, or `properties.<key>`), and
    either the SQL of its value or the custom property's key."""

    name: str
    type: FieldType
    expression: Any = None
    key: str | None = None
    text: Any = None
    """The SQL of the column's CSV field, as text the database writes (`exports.text`)."""


@dataclass(frozen=True)
class Selection:
    """The columns of an export in file order, and the SQL to read for them: each own
    field's expression (in file order), then the properties column when a custom property
    is asked for."""

    columns: tuple[Column, ...]
    expressions: tuple[Any, ...]
    texts: tuple[Any, ...] = ()
    """The SQL of each column's CSV field, in file order (`exports.text`)."""


def default_names(catalog: Catalog) -> list[str]:
    """What an export writes when no columns are named: every own field of the entity that
    has a column, in the catalogue's order."""
    return [
        item.name
        for item in catalog.fields.values()
        if item.source == Source.SYSTEM and item.column is not None
    ]


def _column(catalog: Catalog, name: str, at: str) -> Column:
    try:
        item = catalog.field(name)
    except FieldLookupError:
        raise _refused(
            at, f"Unknown column {name!r}: not a field of {catalog.entity} (GET /fields)"
        ) from None
    if item.source == Source.CUSTOM and catalog.properties is not None:
        key = item.name.removeprefix(PROPERTY_PREFIX)
        return Column(
            f"{PROPERTY_PREFIX}{key}",
            item.type,
            key=key,
            text=property_text(catalog.properties, key),
        )
    if item.source == Source.SYSTEM and item.column is not None:
        expression = item.column
        if item.type == FieldType.DATETIME:
            # Read as the driver gives it (UTC: aware on PostgreSQL, naive on SQLite): the
            # column's own type would make every value aware first, a third of the time of
            # an export of timestamps.
            expression = type_coerce(expression, DateTime())
        return Column(
            item.name, item.type, expression=expression, text=field_text(item.column, item.type)
        )
    raise _refused(
        at,
        f"{item.name!r} cannot be a column: only the {catalog.entity}'s own fields and its "
        "custom properties can (relations are queried, not exported)",
    )


def select_columns(catalog: Catalog, names: Sequence[str] | None) -> Selection:
    """The columns named (any case, custom properties by key or `properties.<key>`), or the
    default ones; ValidationFailed naming each unknown, unexportable or repeated column."""
    if names is not None and not names:
        raise _refused("columns", "Name at least one column, or leave columns out")
    wanted = list(names) if names is not None else default_names(catalog)
    if len(wanted) > MAX_COLUMNS:
        raise _refused("columns", f"At most {MAX_COLUMNS} columns")
    columns: list[Column] = []
    problems: list[ErrorDetail] = []
    seen: set[str] = set()
    for index, name in enumerate(wanted):
        at = f"columns[{index}]"
        try:
            column = _column(catalog, name, at)
        except ValidationFailed as exc:
            problems.extend(exc.details)
            continue
        if column.name in seen:
            problems.append(ErrorDetail(field=at, message=f"{column.name!r} is named twice"))
            continue
        seen.add(column.name)
        columns.append(column)
    if problems:
        raise ValidationFailed(problems[0].message, details=problems)
    expressions = [c.expression for c in columns if c.key is None]
    if len(columns) > len(expressions):
        expressions.append(catalog.properties)
    return Selection(tuple(columns), tuple(expressions), tuple(c.text for c in columns))


def _refused(at: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[ErrorDetail(field=at, message=message)])
