"""Every event type Rapport emits, as the domains' manifests declare them. Webhook
subscriptions are checked against this catalogue, and a service cannot record a type that is
not in it, so the catalogue is the complete contract."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

EVENT_TYPES: dict[str, str] = {}
"""Type -> description, filled by `rapport.domains.install()` from every domain's manifest."""


def install(event_types: Mapping[str, str]) -> None:
    """Add a domain's event types; a type may be declared once (or again, the same)."""
    for event_type, description in event_types.items():
        if EVENT_TYPES.setdefault(event_type, description) != description:
            raise ValueError(f"The event type {event_type!r} is declared twice")


WILDCARD = "*"


def pattern_error(pattern: str) -> str | None:
    """Why a subscription pattern matches nothing Rapport emits, or None if it is valid.
    Valid: `*`, a family such as `contact.*`, or an exact type."""
    if pattern == WILDCARD or pattern in EVENT_TYPES:
        return None
    if pattern.endswith(".*") and any(t.startswith(pattern[:-1]) for t in EVENT_TYPES):
        return None
    return f"Unknown event type {pattern!r}; GET /api/v1/webhooks/event-types lists them"


def matches(patterns: Iterable[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern in (WILDCARD, event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
