"""What a value of each property type may be, and the form it is stored in."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from rapport.kit.clock import as_utc
from rapport.kit.errors import ValidationFailed
from rapport.kit.normalize import normalize_phone, normalize_website
from rapport.models.properties import PropertyDefinition, PropertyType

TEXT_LIMIT = 1000
TEXTAREA_LIMIT = 65_536
NUMBER_LIMIT = 1e15


class InvalidValue(ValueError):
    """The value does not fit the property; the message says why."""


def checked_value(definition: PropertyDefinition, value: Any, phone_region: str | None) -> Any:
    """The value as stored (normalised), or InvalidValue."""
    kind = definition.type
    if kind in (PropertyType.TEXT, PropertyType.TEXTAREA):
        limit = TEXT_LIMIT if kind == PropertyType.TEXT else TEXTAREA_LIMIT
        if not isinstance(value, str):
            raise InvalidValue("must be a string")
        if len(value) > limit:
            raise InvalidValue(f"at most {limit} characters")
        return value
    if kind in (PropertyType.NUMBER, PropertyType.CURRENCY):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue("must be a number")
        try:
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        if not finite or abs(value) > NUMBER_LIMIT:
            raise InvalidValue(f"must be a finite number of at most {NUMBER_LIMIT:.0e}")
        return value
    if kind == PropertyType.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidValue("must be true or false")
        return value
    if kind == PropertyType.DATE:
        if not isinstance(value, str):
            raise InvalidValue("must be a date like 2026-11-23")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise InvalidValue("must be a date like 2026-11-23") from exc
    if kind == PropertyType.DATETIME:
        if not isinstance(value, str):
            raise InvalidValue("must be an ISO 8601 date and time")
        try:
            moment = as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except (ValueError, OverflowError) as exc:
            raise InvalidValue("must be an ISO 8601 date and time") from exc
        return moment.isoformat().replace("+00:00", "Z")
    if kind == PropertyType.EMAIL:
        if not isinstance(value, str):
            raise InvalidValue("must be an email address")
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise InvalidValue(f"not an email address ({exc})") from exc
    if kind in (PropertyType.PHONE, PropertyType.URL):
        if not isinstance(value, str):
            raise InvalidValue("must be a string")
        try:
            if kind == PropertyType.PHONE:
                stored = normalize_phone(value.strip() or None, phone_region)
            else:
                stored = normalize_website(value)
        except ValidationFailed as exc:
            reason = exc.details[0].message if exc.details else exc.message
            raise InvalidValue(reason) from exc
        if stored is None:
            raise InvalidValue("cannot be blank (send null to remove the value)")
        return stored
    allowed = [option["value"] for option in definition.options]
    if kind == PropertyType.SELECT:
        if value not in allowed:
            raise InvalidValue(f"must be one of {', '.join(map(str, allowed))}")
        return value
    if not isinstance(value, list) or any(item not in allowed for item in value):
        raise InvalidValue(f"must be a list of {', '.join(map(str, allowed))}")
    return list(dict.fromkeys(value))
