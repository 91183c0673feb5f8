"""Base wire models: camelCase on the wire, snake_case in Python, unknown input fields refused."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from rapport.kit.clock import as_utc


def _utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError as exc:
        raise ValueError("out of range") from exc


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
"""A timestamp input, converted to UTC (naive values are taken as UTC)."""


def _storable(value: Any, path: str = "") -> None:
    """Refuse what no database column can hold: NUL characters and non-finite numbers."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'value'}: NUL characters are not allowed")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'value'}: numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key, path)
            _storable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable(item, f"{path}[{index}]")


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


class InputModel(WireModel):
    """A request body. Unknown fields are an error, not silently dropped.

    `tenantId` / `entityId` may be sent by clients written against the references; the
    authenticator checks they match the credential, and services ignore them.
    """

    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID | None = Field(
        default=None, exclude=True, description="Must match the key"
    )
    entity_id: uuid.UUID | None = Field(default=None, exclude=True, description="Alias of tenantId")

    @model_validator(mode="before")
    @classmethod
    def _only_storable_values(cls, data: Any) -> Any:
        _storable(data)
        return data
