"""What one request body and one record may carry. Each limit is refused with a 4xx naming the
field; docs/api-conventions.md ("Limits") lists them all."""

from collections.abc import Mapping
from typing import Any

import orjson

MAX_JSON_DEPTH = 10
"""Nesting of objects and arrays in a request body, the body itself being level 1."""
MAX_KEY_LENGTH = 128
"""Characters in any object key of a body."""
MAX_LIST_ITEMS = 1_000
"""Items in any array of a body."""
INTEGER_RANGE = (-(2**63), 2**63 - 1)
"""Integers a body may hold: what every database column and JSON encoder on the way takes."""

PROPERTY_KEY_LENGTH = 64
"""Characters in a property key."""
PROPERTY_LIST_ITEMS = 100
"""Items in one property value (a list)."""
RECORD_PROPERTIES = 200
"""Keys in one record's `properties`."""
RECORD_PROPERTY_VALUES = 1_000
"""Values in one record's `properties`, each item of a list counting as one (what the value
index stores for the record: it bounds the rows one write can touch)."""
RECORD_PROPERTIES_BYTES = 65_536
"""One record's `properties` (a contact's, a company's, an activity's) encoded as JSON."""


def properties_problem(properties: Mapping[str, Any]) -> str | None:
    """Why a record's `properties` (as they would be stored) exceed the record limits, or
    None when they fit."""
    if len(properties) > RECORD_PROPERTIES:
        return f"At most {RECORD_PROPERTIES} properties per record"
    count = 0
    for key, value in properties.items():
        if len(key) > PROPERTY_KEY_LENGTH:
            return f"Property keys are at most {PROPERTY_KEY_LENGTH} characters"
        items = len(value) if isinstance(value, list) else 1
        if items > PROPERTY_LIST_ITEMS:
            return f"{key}: at most {PROPERTY_LIST_ITEMS} items in one property"
        count += items
    if count > RECORD_PROPERTY_VALUES:
        return f"At most {RECORD_PROPERTY_VALUES} values per record (each list item counts)"
    if len(orjson.dumps(dict(properties))) > RECORD_PROPERTIES_BYTES:
        return f"At most {RECORD_PROPERTIES_BYTES} bytes of properties per record, as JSON"
    return None
