"""Base wire models: camelCase on the wire, snake_case in Python, unknown input fields refused."""

from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from rapport.kit import limits
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


def _iso_date(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("An ISO 8601 date, such as 2026-11-30")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar day input in ISO 8601 (`2026-11-30`); a number is refused, not read as Unix
time."""


def _unstorable(path: str, reason: str) -> PydanticCustomError:
    """An error naming the offending value's path inside the model (the error handler adds it
    to the field the model sits in)."""
    return PydanticCustomError("unstorable", "{reason}", {"field": path, "reason": reason})


def _storable(value: Any, path: str = "", depth: int = 1) -> None:
    """Refuse what no database column or JSON encoder on the way can hold: NUL characters,
    text that is not valid Unicode (lone surrogates), non-finite numbers, integers beyond 64
    bits, and bodies nested, keyed or listed beyond the limits of `rapport.kit.limits`."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _unstorable(path, "NUL characters are not allowed")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise _unstorable(path, "not valid Unicode (a lone surrogate)") from exc
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        low, high = limits.INTEGER_RANGE
        if not low <= value <= high:
            raise _unstorable(path, "integers must fit in 64 bits (use a string)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _unstorable(path, "numbers must be finite")
    elif isinstance(value, dict | list):
        if depth > limits.MAX_JSON_DEPTH:
            raise _unstorable(path, f"nested deeper than {limits.MAX_JSON_DEPTH} levels")
        if isinstance(value, list):
            if len(value) > limits.MAX_LIST_ITEMS:
                raise _unstorable(path, f"more than {limits.MAX_LIST_ITEMS} items")
            for index, item in enumerate(value):
                _storable(item, f"{path}[{index}]", depth + 1)
            return
        for key, item in value.items():
            if len(key) > limits.MAX_KEY_LENGTH:
                raise _unstorable(path, f"keys are at most {limits.MAX_KEY_LENGTH} characters")
            _storable(key, path, depth)
            _storable(item, f"{path}.{key}" if path else str(key), depth + 1)


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


def _bounded_properties(value: dict[str, Any]) -> dict[str, Any]:
    problem = limits.properties_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


FreeProperties = Annotated[dict[str, Any], AfterValidator(_bounded_properties)]
"""A free-form JSON object stored as given (an activity's `properties`), within the record
limits of `rapport.kit.limits`."""
