"""Wire shapes of property definitions."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.limits import PROPERTY_KEY_LENGTH
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.properties import PropertyEntity, PropertyGroup, PropertyType

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
KEY_LENGTH = PROPERTY_KEY_LENGTH
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "support_level",
                    "entity": "COMPANY",
                    "label": "Support level",
                    "type": "SELECT",
                    "group": "CUSTOM",
                    "description": "The support contract the company pays for",
                    "options": [
                        {"value": "standard", "label": "Standard"},
                        {"value": "priority", "label": "Priority"},
                        {"value": "premium", "label": "Premium"},
                    ],
                    "isRequired": False,
                }
            ]
        }
    )

    key: str = Field(
        min_length=1,
        max_length=KEY_LENGTH,
        pattern=KEY_PATTERN,
        description="Lowercase letters, digits and _, starting with a letter; unique per entity "
        "(archived properties and built-in fields included); the key under which values are "
        "stored in the record's `properties`",
        examples=["mrr"],
    )
    entity: PropertyEntity = Field(
        description="The kind of record the property belongs to (CONTACT_COMPANY: a contact's "
        "membership in a company)"
    )
    label: str = Field(min_length=1, max_length=200, examples=["Monthly Revenue"])
    type: PropertyType = Field(description="What the values must be; fixed once created")
    group: PropertyGroup = Field(
        default=PropertyGroup.CUSTOM, description="Where user interfaces list the property"
    )
    description: str | None = Field(default=None, max_length=1000)
    options: list[PropertyOption] = Field(
        default_factory=list,
        max_length=500,
        description="The allowed values: at least one, with unique values, for SELECT and "
        "MULTI_SELECT; must be empty for the other types",
    )
    is_required: bool = Field(
        default=False,
        description="Records of the entity must be created with a value, and the value "
        "cannot be removed (existing records are not checked)",
    )


class PropertyUpdate(InputModel):
    """The key, entity and type of a property are fixed once it exists. Only the fields sent
    change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "label": "Support plan",
                    "description": "The support contract in force, as signed",
                }
            ]
        }
    )

    label: str | None = Field(
        default=None, json_schema_extra=not_null, min_length=1, max_length=200
    )
    group: PropertyGroup | None = Field(default=None, json_schema_extra=not_null)
    description: str | None = Field(default=None, max_length=1000)
    options: list[PropertyOption] | None = Field(
        default=None,
        json_schema_extra=not_null,
        max_length=500,
        description="Replaces the whole list (SELECT and MULTI_SELECT only); stored values "
        "are not changed",
    )
    is_required: bool | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="Checked on later creates and removals only; existing records are not checked",
    )
