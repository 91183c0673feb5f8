"""Wire shapes of tags."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel, WireModel, not_null

KEY_PATTERN = r"^[a-z0-9]+([_-][a-z0-9]+)*$"
COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
_KEY_DOC = "Lowercase letters and digits, words joined by - or _; unique in the workspace"
_COLOR_DOC = "A hex colour `#RRGGBB`, stored in upper case"


class TagOut(WireModel):
    id: uuid.UUID
    key: str = Field(examples=["vip"])
    name: str = Field(examples=["VIP Customer"])
    description: str | None = Field(examples=["High-value customers"])
    color: str | None = Field(examples=["#FFD700"])
    created_at: datetime
    updated_at: datetime


class TagCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "enterprise-trial",
                    "name": "Enterprise trial",
                    "description": "Accounts trialling the Enterprise plan",
                    "color": "#2E86DE",
                }
            ]
        }
    )

    key: str = Field(min_length=1, max_length=64, pattern=KEY_PATTERN, description=_KEY_DOC)
    name: str = Field(min_length=1, max_length=200, examples=["VIP Customer"])
    description: str | None = Field(default=None, max_length=1000)
    color: str | None = Field(
        default=None, pattern=COLOR_PATTERN, description=_COLOR_DOC, examples=["#FFD700"]
    )


class TagUpdate(InputModel):
    """Only the fields sent change; `null` clears the description or the colour."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Enterprise trial (Q3)", "color": "#1B4F72"}]}
    )

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
    color: str | None = Field(default=None, pattern=COLOR_PATTERN, description=_COLOR_DOC)


class TagAssign(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tagId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"}]}
    )

    tag_id: uuid.UUID = Field(
        description="The tag's id (not its key); 422 if no such tag",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    )
