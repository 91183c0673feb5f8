"""Time-ordered identifiers (UUID v7): sortable by creation, index-friendly."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID spelled by `value`, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
