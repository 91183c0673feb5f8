"""The one way an export's rows become a file, for the job and for `rapport export` alike:
batches of rows streamed from the database are encoded as CSV or JSON Lines and written as
they come, so memory holds one batch whatever the size of the export. For CSV the database
writes each field's text (`exports.text`) and Python only joins fields; on PostgreSQL it
writes the whole CSV (`COPY ... TO STDOUT`), whose row ends become CRLF here.

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
from typing import Any, BinaryIO

import orjson

from rapport.exports.columns import Column, Selection
from rapport.models.exports import ExportFormat

MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSONL: "application/x-ndjson",
}
EXTENSIONS = {ExportFormat.CSV: "csv", ExportFormat.JSONL: "jsonl"}

Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class Written:
    rows: int
    bytes: int


class _Csv:
    """Rows whose fields the database wrote as text (`exports.text`), in file order; on
    SQLite numbers come as the driver's values, written by the csv module as Python writes
    them."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.names = [c.name for c in columns]
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
        self.writer.writerows(rows)
        return self._taken()


class _LineEnds:
    """PostgreSQL's COPY ends CSV rows with LF, the file with CRLF (RFC 4180, as the csv
    module writes): every LF outside quotes becomes CRLF, line breaks inside quoted values
    stay as they are. A quote opens or closes a quoted value (an escaped quote, `""`, does
    both), so whether a byte is inside quotes is the parity of the quotes before it, carried
    from one chunk to the next."""

    def __init__(self) -> None:
        self.quoted = False

    def __call__(self, chunk: bytes) -> tuple[bytes, int]:
        """The chunk with CRLF row ends, and how many rows it ended."""
        parts = chunk.split(b'"')
        ended = 0
        for index in range(1 if self.quoted else 0, len(parts), 2):
            part = parts[index]
            if b"\n" in part:
                ended += part.count(b"\n")
                parts[index] = part.replace(b"\n", b"\r\n")
        if len(parts) % 2 == 0:
            self.quoted = not self.quoted
        return b'"'.join(parts), ended


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


Output = Callable[[bytes], Awaitable[None]]


async def write_copied(
    copy: Callable[[Output], Awaitable[int]],
    selection: Selection,
    out: BinaryIO,
    *,
    progress: Progress | None = None,
    progress_every: int = 25_000,
) -> Written:
    """A CSV file whose rows the database wrote (`copy(output)` hands them to `output` as
    they come and returns how many): the header, then the rows with CRLF ends."""
    data = _Csv(selection.columns).header()
    out.write(data)
    ends = _LineEnds()
    rows, size, reported = 0, len(data), 0

    async def output(chunk: bytes) -> None:
        nonlocal rows, size, reported
        data, ended = ends(chunk)
        out.write(data)
        rows += ended
        size += len(data)
        if progress is not None and rows - reported >= progress_every:
            reported = rows
            await progress(rows, size)

    copied = await copy(output)
    out.flush()
    return Written(copied, size)
