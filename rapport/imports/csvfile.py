"""Reading an uploaded CSV file: its encoding (UTF-8, with or without a byte-order mark, or one
the caller declares), its separator (`,`, `;`, tab or `|`, found from the first lines), its
header, and its rows one at a time (never the whole file in memory), each either its fields
or the reason it cannot be read."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rapport.kit.errors import field_error

SEPARATORS = (",", ";", "\t", "|")
SAMPLE_BYTES = 65_536
FIELD_LIMIT = 131_072
"""Characters in one field (a longer one is a broken row, not a memory problem)."""

csv.field_size_limit(FIELD_LIMIT)


@dataclass(frozen=True)
class Layout:
    """How a file is written: its encoding and separator, and its header row."""

    encoding: str
    delimiter: str
    header: list[str]


@dataclass(frozen=True)
class Row:
    """A data row: its number as a spreadsheet shows it (the header is row 1), and its fields
    by column, or why it could not be read."""

    number: int
    fields: dict[str, str] | None
    problem: str | None = None


def known_encoding(name: str) -> str:
    """The codec's canonical name, or 422 naming `encoding`."""
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise field_error("encoding", f"Unknown encoding {name!r}") from exc


def detect_layout(path: Path, encoding: str | None, delimiter: str | None) -> Layout:
    """The layout of the file at `path`: the declared encoding or UTF-8 (a byte-order mark is
    skipped), the declared separator or the one the first lines use most consistently, and
    the header row (422 when there is none, or it repeats or leaves out a name)."""
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    if encoding is None:
        encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        encoding = known_encoding(encoding)
    text = sample.decode(encoding, errors="ignore")
    if delimiter is None:
        delimiter = _separator(text)
    elif delimiter not in SEPARATORS:
        raise field_error("delimiter", "One of , ; | or a tab")
    with open_text(path, encoding) as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter), None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise field_error("file", f"The header row cannot be read: {exc}") from exc
    if not header or not any(name.strip() for name in header):
        raise field_error("file", "The file is empty: its first row must name the columns")
    names = [name.strip() for name in header]
    if "" in names:
        raise field_error("file", f"Column {names.index('') + 1} of the header has no name")
    repeated = {name for name in names if names.count(name) > 1}
    if repeated:
        raise field_error("file", f"The header names {sorted(repeated)[0]!r} twice")
    return Layout(encoding, delimiter, names)


def _separator(text: str) -> str:
    """The separator splitting the first lines into the same number (above one) of fields."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", 0
    for separator in SEPARATORS:
        counts = [
            len(next(csv.reader([line], delimiter=separator))) for line in lines[:-1] or lines
        ]
        if counts[0] > 1 and all(count == counts[0] for count in counts):
            score = counts[0]
            if score > best_score:
                best, best_score = separator, score
    return best


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return path.open(encoding=encoding, newline="")


def rows(path: Path, layout: Layout, skip: int = 0) -> Iterator[Row]:
    """The data rows after the header, the first `skip` of them passed over (read, not
    returned: an import resumes after the rows it committed). A row with more or fewer
    fields than the header, a field over the size limit, or bytes the encoding cannot
    decode is returned with its problem; reading goes on with the next row."""
    width = len(layout.header)
    with open_text(path, layout.encoding) as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        number, index = 1, -1  # the record's number (blank ones count), the data row's index
        try:
            next(reader)
        except (csv.Error, UnicodeDecodeError, StopIteration):
            return
        while True:
            number += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                index += 1
                if index >= skip:
                    yield Row(number, None, f"The row cannot be read: {exc}")
                continue
            except UnicodeDecodeError:
                yield Row(number, None, f"The file is not valid {layout.encoding} from here")
                return
            if not any(value.strip() for value in values):
                continue  # a blank line is no data row
            index += 1
            if index < skip:
                continue
            if len(values) != width:
                yield Row(number, None, f"The row has {len(values)} fields, the header has {width}")
                continue
            yield Row(number, dict(zip(layout.header, values, strict=True)))


def count_rows(path: Path, layout: Layout) -> int:
    """How many data rows the file holds (its blank lines aside); 422 when its bytes do not
    decode with its encoding, naming the row."""
    count = 0
    for row in rows(path, layout):
        if row.problem is not None and "not valid" in row.problem:
            raise field_error(
                "file",
                f"Row {row.number} is not valid {layout.encoding}: declare the file's encoding "
                "(for example latin-1)",
            )
        count += 1
    return count


_WORD = re.compile(r"[^a-z0-9]+")


def folded_name(name: str) -> str:
    """A header or field name compared loosely: `First Name`, `first_name`, `firstName`."""
    return _WORD.sub("", name.lower())
