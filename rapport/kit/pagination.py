"""Pagination and sorting: every list route parses them here and pages its query here.

Offset style accepts the three spellings of the references (`skip`/`take`, `page`/`limit`,
`page`/`pageSize`); keyset style walks with an opaque `cursor` returned as `meta.nextCursor`.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Query
from pydantic import BeforeValidator
from sqlalchemy import BigInteger, ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from rapport.kit.clock import as_utc
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import query_error


def _lower(value: object) -> object:
    """Enumerated values are accepted in any case (docs/api-conventions.md)."""
    return value.lower() if isinstance(value, str) else value


DEFAULT_TAKE = 25
MAX_TAKE = 100


@dataclass(frozen=True)
class SortSpec:
    field: str
    descending: bool


@dataclass(frozen=True)
class Cursor:
    sort: SortSpec
    value: Any
    last_id: uuid.UUID

    def encode(self) -> str:
        value = self.value
        kind = "n"
        if isinstance(value, datetime):
            value, kind = value.isoformat(), "dt"
        elif value is not None:
            kind = "v"
        raw = orjson.dumps(
            {
                "f": self.sort.field,
                "d": self.sort.descending,
                "k": kind,
                "v": value,
                "i": str(self.last_id),
            }
        )
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            doc = orjson.loads(raw)
            value = doc["v"]
            if not isinstance(doc["i"], str):
                raise TypeError("the last id is not a string")
            if doc["k"] == "dt":
                value = as_utc(datetime.fromisoformat(value))
            elif doc["k"] == "n":
                value = None
            return cls(SortSpec(str(doc["f"]), bool(doc["d"])), value, uuid.UUID(doc["i"]))
        except (
            binascii.Error,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,  # uuid.UUID() of what is not a string
            OverflowError,
        ) as exc:
            raise query_error("cursor", "Not a cursor returned by this API") from exc


@dataclass(frozen=True)
class PageRequest:
    skip: int
    take: int
    sort: SortSpec
    cursor: Cursor | None = None


class Pagination:
    """A dependency parsing the pagination and sorting query parameters of one list route."""

    def __init__(
        self,
        sort_fields: Collection[str],
        *,
        default_sort: str = "createdAt",
        default_order: Literal["asc", "desc"] = "desc",
    ) -> None:
        self.sort_fields = tuple(sort_fields)
        self.default = SortSpec(default_sort, default_order == "desc")

    def __call__(
        self,
        skip: int | None = Query(None, ge=0, le=1_000_000_000, description="Offset (default 0)"),
        take: int | None = Query(None, ge=1, le=MAX_TAKE, description="Page size (default 25)"),
        page: int | None = Query(None, ge=1, le=10_000_000, description="1-based page number"),
        limit: int | None = Query(None, ge=1, le=MAX_TAKE, description="Alias of take"),
        page_size: int | None = Query(
            None, ge=1, le=MAX_TAKE, alias="pageSize", description="Alias of take"
        ),
        cursor: str | None = Query(None, max_length=2000, description="meta.nextCursor of a page"),
        sort_by: str | None = Query(
            None,
            alias="sortBy",
            max_length=64,
            description="The field to sort by (400 names the allowed ones if another is given)",
        ),
        sort_order: Annotated[
            Literal["asc", "desc"] | None,
            BeforeValidator(_lower),
            Query(
                alias="sortOrder",
                description="asc or desc, any case (default: the list's own order, else asc "
                "with sortBy)",
            ),
        ] = None,
        sort: str | None = Query(
            None,
            max_length=80,
            description="`field:asc` or `field:desc`, alias of sortBy+sortOrder",
        ),
    ) -> PageRequest:
        size = take or page_size or limit or DEFAULT_TAKE
        offset = skip if skip is not None else ((page or 1) - 1) * size
        if page is not None and offset != (page - 1) * size:
            raise query_error("page", "skip and page name different rows; send one of them")
        spec = self._sort(sort_by, sort_order, sort)
        parsed = Cursor.decode(cursor) if cursor else None
        if parsed is not None:
            if (sort_by or sort) and parsed.sort != spec:
                raise query_error("cursor", "The cursor was issued for another sort order")
            if parsed.sort.field not in self.sort_fields:
                raise query_error("cursor", "Not a cursor returned by this API")
            spec, offset = parsed.sort, 0
        return PageRequest(skip=offset, take=size, sort=spec, cursor=parsed)

    def _sort(self, sort_by: str | None, sort_order: str | None, sort: str | None) -> SortSpec:
        field, order = sort_by, sort_order
        if sort:
            name, _, direction = sort.partition(":")
            direction = direction.lower()
            if direction and direction not in ("asc", "desc"):
                raise query_error("sort", "Direction must be asc or desc")
            field, order = name, direction or order
        if field is None:
            return SortSpec(
                self.default.field, self.default.descending if order is None else order == "desc"
            )
        if field not in self.sort_fields:
            allowed = ", ".join(self.sort_fields)
            raise query_error("sort" if sort else "sortBy", f"Unknown sort field; one of {allowed}")
        return SortSpec(field, (order or "asc") == "desc")


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    request: PageRequest,
    sort_columns: Mapping[str, InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[uuid.UUID],
    *,
    count: bool = True,
    total_query: Select[Any] | None = None,
) -> tuple[list[Any], PageMeta]:
    """Run `stmt` for one page. Rows must be ORM entities having the sort attributes. The
    total counts the rows of `stmt`, unless `total_query` gives it (a count kept up to date
    by the database)."""
    column = sort_columns[request.sort.field]
    nullable = any(col.nullable for col in column.property.columns)
    desc = request.sort.descending
    ordered_col = column.desc() if desc else column.asc()
    if nullable:
        ordered_col = ordered_col.nulls_last()
    paged = stmt.order_by(ordered_col, id_column.desc() if desc else id_column.asc())
    if request.cursor is not None:
        _check_cursor_value(column, request.cursor.value)
        paged = paged.where(_after(column, id_column, request.cursor, nullable))
    paged = paged.offset(request.skip).limit(request.take + 1)
    rows = list((await session.execute(paged)).scalars().all())
    has_more = len(rows) > request.take
    rows = rows[: request.take]
    total: int | None = None
    if count and request.cursor is None:
        counting = total_query
        if counting is None:
            counting = select(func.count()).select_from(stmt.subquery())
        total = int((await session.execute(counting)).scalar_one() or 0)
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        value = getattr(last, column.key)
        next_cursor = Cursor(request.sort, value, getattr(last, id_column.key)).encode()
    meta = PageMeta(
        total=total,
        skip=request.skip,
        take=request.take,
        page=request.skip // request.take + 1,
        total_pages=math.ceil(total / request.take) if total is not None else None,
        has_more=has_more,
        next_cursor=next_cursor,
    )
    return rows, meta


def _check_cursor_value(column: InstrumentedAttribute[Any], value: Any) -> None:
    """A cursor is opaque but not signed: refuse one whose value the sort column cannot hold,
    which the database would fail on (an integer beyond the column's range, a NUL)."""
    if value is None:
        return
    column_type = column.property.columns[0].type
    expected = column_type.python_type
    fits = isinstance(value, expected) and isinstance(value, bool) == (expected is bool)
    if fits and expected is int:
        bits = 64 if isinstance(column_type, BigInteger) else 32
        fits = -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)
    if fits and expected is str:
        fits = "\x00" not in value
    if not fits:
        raise query_error("cursor", "Not a cursor returned by this API")


def _after(
    column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[uuid.UUID],
    cursor: Cursor,
    nullable: bool,
) -> ColumnElement[bool]:
    """Rows strictly after the cursor in (column, id) order, NULLs sorting last."""
    desc = cursor.sort.descending
    id_after = id_column < cursor.last_id if desc else id_column > cursor.last_id
    if cursor.value is None:
        return and_(column.is_(None), id_after)
    beyond = column < cursor.value if desc else column > cursor.value
    clauses = [beyond, and_(column == cursor.value, id_after)]
    if nullable:
        clauses.append(column.is_(None))
    return or_(*clauses)
