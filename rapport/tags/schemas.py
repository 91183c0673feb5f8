"""Wire shapes of tags."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from rapport.kit.schemas import InputModel, WireModel, not_null

KEY_PATTERN = r"^[a-z0-9]+([_-][a-z0-9]+)*$"
COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
_KEY_DOC = "Lowercase letters and digits, words joined by - or _; unique in the workspace"


class TagOut(WireModel):
    id: uuid.UUID
    key: str = Field(examples=["vip"])
    name: str = Field(examples=["VIP Customer"])
    description: str | None = Field(examples=["High-value customers"])
    color: str | None = Field(examples=["#FFD700"])
    created_at: datetime
    updated_at: datetime


class TagCreate(InputModel):
    key: str = Field(min_length=1, max_length=64, pattern=KEY_PATTERN, description=_KEY_DOC)
    name: str = Field(min_length=1, max_length=200, examples=["VIP Customer"])
    description: str | None = Field(default=None, max_length=1000)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN, examples=["#FFD700"])


class TagUpdate(InputModel):
    key: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=64,
        pattern=KEY_PATTERN,
        description=_KEY_DOC,
    )
    name: str | None = Field(default=None, json_schema_extra=not_null, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)


class TagAssign(InputModel):
    tag_id: uuid.UUID = Field(examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"])
