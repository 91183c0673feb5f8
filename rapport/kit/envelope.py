"""Response envelopes: `{"data": ...}` for one record, `{"data": [...], "meta": ...}` for lists."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from rapport.kit.schemas import WireModel


class JsonResponse(Response):
    """A JSON response rendered with orjson, for bodies that are not response models."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


T = TypeVar("T")


def one_record(record: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """`{"data": record}`, rendered by the record's own serializer: for reads served often,
    which would otherwise be validated once more against the route's response model."""
    body = b'{"data":' + record.__pydantic_serializer__.to_json(record) + b"}"
    return Response(body, media_type="application/json", headers=headers)


class Envelope(BaseModel, Generic[T]):
    data: T


class PageMeta(WireModel):
    # Every field is in every answer, null or not: generated clients type them as present.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    total: int | None = Field(
        default=None,
        description="Rows matching the filters; null when walking by cursor",
        examples=[42],
    )
    skip: int = Field(examples=[0])
    take: int = Field(examples=[25])
    page: int = Field(examples=[1])
    total_pages: int | None = Field(default=None, examples=[2])
    has_more: bool
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to fetch the next page by keyset"
    )


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta

    @classmethod
    def whole(cls, items: list[T]) -> ListEnvelope[T]:
        """A list answered in full, not paged (a record's tags, the property definitions):
        one page holding everything."""
        count = len(items)
        meta = PageMeta(total=count, skip=0, take=count, page=1, total_pages=1, has_more=False)
        return cls(data=items, meta=meta)
