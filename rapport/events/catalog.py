"""Every event type Rapport emits. Webhook subscriptions are checked against this list, and a
service cannot record a type that is not in it, so the list is the complete contract."""

from __future__ import annotations

from collections.abc import Iterable

EVENT_TYPES: dict[str, str] = {
    "contact.created": "A contact was created",
    "contact.updated": "A contact changed; `data.changes` has each field before and after",
    "contact.deleted": "A contact was deleted (soft delete: it stays readable)",
    "contact.merged": "Another contact was merged into this one (`data.winnerId`, "
    "`data.loserId`, `data.moved` counts, `data.changes` for the fields filled in)",
    "contact.tagged": "A tag was put on a contact (`data.tag`)",
    "contact.untagged": "A tag was taken off a contact (`data.tag`)",
    "company.tagged": "A tag was put on a company (`data.tag`)",
    "company.untagged": "A tag was taken off a company (`data.tag`)",
    "property.created": "A custom property was defined",
    "property.updated": "A custom property definition changed",
    "property.archived": "A custom property was archived (its values are kept)",
    "activity.created": "An activity (call, meeting, email, note, tracked event) was logged",
    "activity.updated": "An activity changed",
    "activity.deleted": "An activity was deleted",
    "task.created": "A task was created",
    "task.updated": "A task changed (status, due date, assignee...)",
    "task.deleted": "A task was deleted",
    "tag.created": "A tag was created",
    "tag.updated": "A tag changed",
    "tag.deleted": "A tag was deleted (and taken off everything it was on)",
    "company.created": "A company was created",
    "company.updated": "A company changed; `data.changes` has each field before and after",
    "company.deleted": "A company was deleted (with its memberships)",
    "company_membership.created": "A contact was linked to a company",
    "company_membership.updated": "A contact's role or primary company changed",
    "company_membership.deleted": "A contact was unlinked from a company",
    "webhook.created": "A webhook subscription was created",
    "webhook.updated": "A webhook subscription changed (URL, event types, active flag, secret)",
    "webhook.deleted": "A webhook subscription was deleted",
    "webhook.disabled": "Rapport disabled a webhook whose deliveries kept failing",
}

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
