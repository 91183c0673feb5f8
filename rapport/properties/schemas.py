"""Wire shapes of property definitions."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.properties import PropertyEntity, PropertyGroup, PropertyType

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
KEY_LENGTH = 64
CHOICE_TYPES = (PropertyType.SELECT, PropertyType.MULTI_SELECT)


class PropertyOption(WireModel):
    value: str = Field(min_length=1, max_length=200, examples=["enterprise"])
    label: str = Field(min_length=1, max_length=200, examples=["Enterprise"])


class PropertyOut(WireModel):
    id: uuid.UUID | None = Field(description="null for system fields")
    entity: PropertyEntity
    key: str = Field(examples=["mrr"])
    label: str = Field(examples=["Monthly Revenue"])
    type: PropertyType
    group: PropertyGroup
    description: str | None
    options: list[PropertyOption]
    is_required: bool
    is_system: bool = Field(description="A built-in field (not stored in `properties`)")
    archived: bool
    created_at: datetime | None
    updated_at: datetime | None


class PropertyCreate(InputModel):
    key: str = Field(
        min_length=1,
        max_length=KEY_LENGTH,
        pattern=KEY_PATTERN,
        description="Lowercase letters, digits and _, starting with a letter; unique per entity",
        examples=["mrr"],
    )
    entity: PropertyEntity
    label: str = Field(min_length=1, max_length=200, examples=["Monthly Revenue"])
    type: PropertyType
    group: PropertyGroup = PropertyGroup.CUSTOM
    description: str | None = Field(default=None, max_length=1000)
    options: list[PropertyOption] = Field(
        default_factory=list, max_length=500, description="Required for SELECT and MULTI_SELECT"
    )
    is_required: bool = False


class PropertyUpdate(InputModel):
    """The key, entity and type of a property are fixed once it exists."""

    label: str | None = Field(
        default=None, json_schema_extra=not_null, min_length=1, max_length=200
    )
    group: PropertyGroup | None = Field(default=None, json_schema_extra=not_null)
    description: str | None = Field(default=None, max_length=1000)
    options: list[PropertyOption] | None = Field(
        default=None, json_schema_extra=not_null, max_length=500
    )
    is_required: bool | None = Field(default=None, json_schema_extra=not_null)
