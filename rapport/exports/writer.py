"""The one way an export's rows become a file, for the job and for `rapport export` alike:
batches of rows streamed from the database are encoded as CSV or JSON Lines and written as
they come, so memory holds one batch whatever the size of the export.

CSV: a header row of the column names, then one row per record (RFC 4180: CRLF line ends,
fields with commas, quotes or line breaks quoted), UTF-8; empty for a missing value, dates
and times in ISO 8601 (UTC with `Z`), booleans `true`/`false`, the items of a multi-valued
property joined with `; `. JSON Lines: one JSON object per record with the API's field names
(camelCase), custom properties in `properties` as the API gives them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, BinaryIO

import orjson

from rapport.exports.columns import Column, Selection
from rapport.kit.cql.fields import FieldType
from rapport.models.exports import ExportFormat

MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSONL: "application/x-ndjson",
}
EXTENSIONS = {ExportFormat.CSV: "csv", ExportFormat.JSONL: "jsonl"}
LIST_SEPARATOR = "; "

Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class Written:
    rows: int
    bytes: int


def _moment(value: datetime) -> str:
    """A UTC moment, aware or naive (as SQLite gives it), in ISO 8601 with `Z`."""
    text = value.isoformat()
    return f"{text[:-6]}Z" if value.tzinfo is not None else f"{text}Z"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _loose(value: Any) -> Any:
    """A custom property's value as one CSV field."""
    if isinstance(value, bool):
        return _boolean(value)
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(_loose(item)) for item in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return value


_CONVERTED: dict[FieldType, Callable[[Any], Any]] = {
    FieldType.DATETIME: _moment,
    FieldType.BOOLEAN: _boolean,
}


class _Rows:
    """Values of each row in file order, from a row as the database gives it (own fields in
    file order, then the properties column)."""

    def __init__(self, columns: Sequence[Column]) -> None:
        own = [c for c in columns if c.key is None]
        self.own_count = len(own)
        self.keys = [c.key for c in columns if c.key is not None]
        read = [*own, *(c for c in columns if c.key is not None)]
        positions = [read.index(c) for c in columns]
        reordered = positions != list(range(len(positions))) and len(positions) > 1
        self.order = itemgetter(*positions) if reordered else None

    def values(self, row: Sequence[Any]) -> list[Any]:
        if not self.keys:
            values = list(row)
        else:
            found = row[self.own_count] or {}
            values = [*row[: self.own_count], *map(found.get, self.keys)]
        return list(self.order(values)) if self.order is not None else values


class _Csv:
    def __init__(self, columns: Sequence[Column]) -> None:
        self.rows = _Rows(columns)
        self.names = [c.name for c in columns]
        self.converters = [
            (index, _loose if column.key is not None else _CONVERTED[column.type])
            for index, column in enumerate(columns)
            if column.key is not None or column.type in _CONVERTED
        ]
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def _taken(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode()

    def header(self) -> bytes:
        self.writer.writerow(self.names)
        return self._taken()

    def batch(self, rows: Sequence[Sequence[Any]]) -> bytes:
        converters, values_of = self.converters, self.rows.values
        lines = []
        for row in rows:
            values = values_of(row)
            for index, convert in converters:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            lines.append(values)
        self.writer.writerows(lines)
        return self._taken()


class _JsonLines:
    _OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE

    def __init__(self, columns: Sequence[Column]) -> None:
        self.names = [c.name for c in columns if c.key is None]
        self.keys = [c.key for c in columns if c.key is not None]

    def header(self) -> bytes:
        return b""

    def batch(self, rows: Sequence[Sequence[Any]]) -> bytes:
        names, keys, count, dumps = self.names, self.keys, len(self.names), orjson.dumps
        out = []
        for row in rows:
            record = dict(zip(names, row, strict=False))
            if keys:
                found = row[count] or {}
                record["properties"] = {key: found.get(key) for key in keys}
            # default=str: ids as the PostgreSQL driver reads them are not uuid.UUID.
            out.append(dumps(record, default=str, option=self._OPTIONS))
        return b"".join(out)


async def write_rows(
    batches: AsyncIterator[Sequence[Sequence[Any]]],
    selection: Selection,
    fmt: ExportFormat,
    out: BinaryIO,
    *,
    progress: Progress | None = None,
    progress_every: int = 25_000,
) -> Written:
    """Encode each batch of rows and write it to `out` as it comes; `progress(rows, bytes)`
    is awaited after every `progress_every` rows or so."""
    encoder = _Csv(selection.columns) if fmt == ExportFormat.CSV else _JsonLines(selection.columns)
    data = encoder.header()
    out.write(data)
    rows, size, reported = 0, len(data), 0
    async for batch in batches:
        data = encoder.batch(batch)
        out.write(data)
        rows += len(batch)
        size += len(data)
        if progress is not None and rows - reported >= progress_every:
            reported = rows
            await progress(rows, size)
    out.flush()
    return Written(rows, size)
