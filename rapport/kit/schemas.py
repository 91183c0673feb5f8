"""Base wire models: camelCase on the wire, snake_case in Python, unknown input fields refused."""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from rapport.kit.clock import as_utc


def _utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError as exc:
        raise ValueError("out of range") from exc


_NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def _iso_8601(value: Any) -> Any:
    """A date-time is written as ISO 8601: a number (which the parser would take for Unix
    time) is refused rather than read as a moment of 1970."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("An ISO 8601 date-time, such as 2026-11-30T09:00:00Z")
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_utc)]
"""A timestamp input in ISO 8601, converted to UTC (naive values are taken as UTC)."""


MAX_DEPTH = 32
"""How deeply arrays and objects may nest in a body: deeper input is refused (422) before
validation, serialization or a JSON column meets it, all of which recurse."""


def _storable(value: Any) -> None:
    """Refuse what no database column can hold (NUL characters, non-finite numbers) and nesting
    deeper than MAX_DEPTH. A loop, not recursion: the depth of the input is not known yet."""
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError(f"{path or 'value'}: NUL characters are not allowed")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{path or 'value'}: numbers must be finite")
        elif isinstance(item, dict | list):
            if depth == MAX_DEPTH:
                raise ValueError(f"{path or 'value'}: nested more than {MAX_DEPTH} levels deep")
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for key, child in item.items():
                    children.append((key, path, depth))
                    children.append((child, f"{path}.{key}" if path else str(key), depth + 1))
            else:
                for index, child in enumerate(item):
                    children.append((child, f"{path}[{index}]", depth + 1))
            pending.extend(reversed(children))


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


class NestedInput(WireModel):
    """An object inside a request body. Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _only_storable_values(cls, data: Any) -> Any:
        _storable(data)
        return data


class InputModel(NestedInput):
    """A request body. `tenantId` / `entityId` may be sent at its top level by clients written
    against the references; the authenticator checks they match the credential, and services
    ignore them. Like the other workspace selectors they are documented once (the security
    scheme), not in every body's schema."""

    tenant_id: SkipJsonSchema[uuid.UUID | None] = Field(default=None, exclude=True)
    entity_id: SkipJsonSchema[uuid.UUID | None] = Field(default=None, exclude=True)


def not_null(schema: dict[str, Any]) -> None:
    """`Field(json_schema_extra=not_null)` on a PATCH field that may be left out but not set to
    null: the schema leaves null out (the service refuses it with a 422 naming the field)."""
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
