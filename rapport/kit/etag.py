"""Entity tags: `ETag` on reads; `If-Match` on writes (optimistic concurrency) and
`If-None-Match` on reads (a client's cached copy is still current: 304, no body)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header
from starlette.responses import Response

from rapport.kit.errors import PreconditionFailed

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="The ETag of the copy you hold: 304 with no body if it is still current",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag of the version you read; 412 if it changed"),
]
ETAG_HEADER = {
    "ETag": {"description": "Send back in If-Match to update safely", "schema": {"type": "string"}}
}
"""The `ETag` response header, as documented on the routes that answer one."""
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag sent in If-None-Match is current"}
}


def etag_for(record_id: uuid.UUID, version: int) -> str:
    return f'"{record_id.hex[-12:]}.{version}"'


def _lists(header: str, current: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or current in candidates


def ensure_match(if_match: str | None, current: str) -> None:
    """Raise 412 unless `If-Match` is absent, `*`, or lists the current tag."""
    if if_match is not None and not _lists(if_match, current):
        raise PreconditionFailed()


def not_modified(if_none_match: str | None, current: str) -> Response | None:
    """304 (with the ETag, no body) when `If-None-Match` lists the current tag."""
    if if_none_match is None or not _lists(if_none_match, current):
        return None
    return Response(status_code=304, headers={"ETag": current})
