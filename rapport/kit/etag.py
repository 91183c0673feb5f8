"""Entity tags for optimistic concurrency: `ETag` on reads, `If-Match` on writes."""

from __future__ import annotations

import uuid

from rapport.kit.errors import PreconditionFailed


def etag_for(record_id: uuid.UUID, version: int) -> str:
    return f'"{record_id.hex[-12:]}.{version}"'


def ensure_match(if_match: str | None, current: str) -> None:
    """Raise 412 unless `If-Match` is absent, `*`, or lists the current tag."""
    if if_match is None:
        return
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in candidates or current in candidates:
        return
    raise PreconditionFailed()
