"""Response envelopes: `{"data": ...}` for one record, `{"data": [...], "meta": ...}` for lists."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from rapport.kit.schemas import WireModel


class JsonResponse(Response):
    """A JSON response rendered with orjson, for bodies that are not response models."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T


class PageMeta(WireModel):
    total: int | None = Field(
        default=None, description="Rows matching the filters; null when walking by cursor"
    )
    skip: int
    take: int
    page: int
    total_pages: int | None = None
    has_more: bool
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to fetch the next page by keyset"
    )


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta
