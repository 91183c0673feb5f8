"""Columns of a CSV export as the database writes them: each value already the text of its
field in the file (ISO 8601 times with `Z`, `true`/`false`, the items of a list joined with
`; `, custom properties read from the record's JSON), so that Python only joins fields.

Each construct is one SQL element compiled per dialect (`@compiles`), so the statement of an
export is built once, with the tenant guard, whichever database runs it. Property keys are
bound parameters, never SQL text. What each dialect writes equals what the Python writer
wrote from typed values (the tests of exports pin it):

- times: `2024-05-01T10:00:00Z`, with `.ffffff` only when there are microseconds (as
  `datetime.isoformat()`); SQLite keeps them as naive UTC text, PostgreSQL as timestamptz;
- ids: hyphenated lowercase (SQLite stores the 32 hex digits);
- booleans: `true`/`false`; dates `YYYY-MM-DD`;
- numbers: on SQLite the driver's value (Python writes it: `repr` of a float); on
  PostgreSQL the text of integers, and of floats as Python's `repr` writes them (`100.0`,
  `1e-05`); a float column's values from 1e15 to 1e16 are written in exponent form by
  PostgreSQL and in full by Python: out of reach of lead amounts (minor units over 100);
- custom properties by the JSON type of each value: strings as they are, booleans
  `true`/`false`, numbers as Python reads them from the stored JSON, lists as their items
  joined with `; ` (a JSON null item as `None`, as `str(None)`), objects as JSON text (only
  a value written outside the API can be one: PostgreSQL's spacing differs from orjson's).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, Numeric, String, Uuid, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from rapport.kit.cql.fields import FieldType

MOMENT, BOOLEAN, UUID, DATE, INTEGER, FLOAT, PLAIN = (
    "moment",
    "boolean",
    "uuid",
    "date",
    "integer",
    "float",
    "plain",
)


def _kind(expression: Any, field_type: FieldType) -> str:
    if field_type == FieldType.DATETIME:
        return MOMENT
    kind = getattr(expression, "type", None)
    if field_type == FieldType.BOOLEAN or isinstance(kind, Boolean):
        return BOOLEAN
    if isinstance(kind, Uuid):
        return UUID
    if isinstance(kind, Date):
        return DATE
    if isinstance(kind, Float):
        return FLOAT
    if isinstance(kind, Integer | Numeric):
        return INTEGER
    return PLAIN


class FieldText(ColumnElement[Any]):
    """An own field's value as the text of its CSV field (NULL when missing; numbers stay
    numbers on SQLite, where the driver's value is what Python writes)."""

    inherit_cache = True
    type = String()
    _traverse_internals = [
        ("value", InternalTraversal.dp_clauseelement),
        ("kind", InternalTraversal.dp_string),
    ]

    def __init__(self, value: Any, field_type: FieldType) -> None:
        self.value = value
        self.kind = _kind(value, field_type)
        self._propagate_attrs = getattr(value, "_propagate_attrs", self._propagate_attrs)


class PropertyText(ColumnElement[Any]):
    """A custom property's value, read from the record's JSON, as the text of its CSV
    field."""

    inherit_cache = True
    type = String()
    _traverse_internals = [
        ("properties", InternalTraversal.dp_clauseelement),
        ("json_key", InternalTraversal.dp_clauseelement),
        ("path", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, properties: Any, key: str) -> None:
        self.properties = properties
        self._propagate_attrs = getattr(properties, "_propagate_attrs", self._propagate_attrs)
        # PostgreSQL reads the key, SQLite a JSON path (the key matches ^[a-z][a-z0-9_]*$).
        self.json_key = bindparam(None, key, type_=String())
        self.path = bindparam(None, f'$."{key}"', type_=String())


def field_text(expression: Any, field_type: FieldType) -> FieldText:
    return FieldText(expression, field_type)


def property_text(properties: Any, key: str) -> PropertyText:
    return PropertyText(properties, key)


# --- PostgreSQL ------------------------------------------------------------------------------

_PG_MOMENT = (
    "to_char({u}, CASE WHEN date_trunc('second', {u}) = {u} "
    """THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
)


def _pg_float(v: str) -> str:
    """Python's repr of a float: PostgreSQL's shortest text, with `.0` when it has neither a
    point nor an exponent."""
    text = f"CAST(CAST({v} AS FLOAT8) AS TEXT)"
    return f"(CASE WHEN {text} ~ '[.eEnN]' THEN {text} ELSE {text} || '.0' END)"


def _pg_json_number(t: str) -> str:
    """A JSON number's text (jsonb's, never in exponent form) as Python writes what it reads
    from it: an integer as it is, a float by its repr (exponent form below 1e-4)."""
    return (
        f"(CASE WHEN strpos({t}, '.') > 0 AND CAST({t} AS NUMERIC) <> 0 "
        f"AND abs(CAST({t} AS NUMERIC)) < 0.0001 "
        f"THEN CAST(CAST({t} AS FLOAT8) AS TEXT) ELSE {t} END)"
    )


def _pg_json_item(e: str) -> str:
    t = f"({e} #>> '{{}}')"
    return (
        f"(CASE jsonb_typeof({e}) WHEN 'null' THEN 'None' WHEN 'number' THEN "
        f"{_pg_json_number(t)} WHEN 'string' THEN {t} WHEN 'boolean' THEN {t} "
        f"ELSE CAST({e} AS TEXT) END)"
    )


@compiles(FieldText, "postgresql")
def _field_text_pg(element: FieldText, compiler: SQLCompiler, **kw: Any) -> str:
    v = f"({compiler.process(element.value, **kw)})"
    text = {
        MOMENT: _PG_MOMENT.format(u=f"({v} AT TIME ZONE 'UTC')"),
        BOOLEAN: f"CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END",
        UUID: f"CAST({v} AS TEXT)",
        DATE: f"to_char({v}, 'YYYY-MM-DD')",
        INTEGER: f"CAST({v} AS TEXT)",
        FLOAT: _pg_float(v),
        PLAIN: f"CAST({v} AS TEXT)",
    }[element.kind]
    # COPY writes an empty string as "" and NULL as nothing; the csv module writes both as
    # nothing.
    return f"NULLIF({text}, '')"


@compiles(PropertyText, "postgresql")
def _property_text_pg(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    value = (
        f"(({compiler.process(element.properties, **kw)}) -> "
        f"{compiler.process(element.json_key, **kw)})"
    )
    t = f"({value} #>> '{{}}')"
    return (
        f"NULLIF(CASE jsonb_typeof({value}) WHEN 'string' THEN {t} WHEN 'boolean' THEN {t} "
        f"WHEN 'number' THEN {_pg_json_number(t)} "
        f"WHEN 'array' THEN (SELECT string_agg({_pg_json_item('item.value')}, '; ' "
        f"ORDER BY item.n) FROM jsonb_array_elements({value}) WITH ORDINALITY AS item(value, n)) "
        f"WHEN 'object' THEN CAST({value} AS TEXT) END, '')"
    )


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_moment(v: str) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); without microseconds when zero.
    date, clock = f"substr({v}, 1, 10)", f"substr({v}, 12, 8)"
    return (
        f"(CASE WHEN substr({v}, 20) IN ('', '.000000') THEN {date} || 'T' || {clock} "
        f"ELSE {date} || 'T' || substr({v}, 12) END || 'Z')"
    )


def _sqlite_uuid(v: str) -> str:
    return (
        f"(substr({v}, 1, 8) || '-' || substr({v}, 9, 4) || '-' || substr({v}, 13, 4) || '-' "
        f"|| substr({v}, 17, 4) || '-' || substr({v}, 21))"
    )


@compiles(FieldText, "sqlite")
def _field_text_sqlite(element: FieldText, compiler: SQLCompiler, **kw: Any) -> str:
    v = f"({compiler.process(element.value, **kw)})"
    if element.kind == MOMENT:
        return _sqlite_moment(v)
    if element.kind == BOOLEAN:
        return f"(CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END)"
    if element.kind == UUID:
        return _sqlite_uuid(v)
    return v


@compiles(PropertyText, "sqlite")
def _property_text_sqlite(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    properties = compiler.process(element.properties, **kw)
    path = compiler.process(element.path, **kw)
    item = (
        "CASE item.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        "WHEN 'null' THEN 'None' ELSE item.value END"
    )
    return (
        f"(CASE json_type({properties}, {path}) WHEN 'true' THEN 'true' "
        f"WHEN 'false' THEN 'false' "
        f"WHEN 'array' THEN (SELECT group_concat({item}, '; ') "
        f"FROM json_each({properties}, {path}) AS item) "
        f"ELSE json_extract({properties}, {path}) END)"
    )
