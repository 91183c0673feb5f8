"""Wire shapes of webhooks, deliveries and attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from rapport.events.catalog import pattern_error
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.webhooks import DeliveryStatus

_URL_DOC = (
    "Where deliveries are POSTed: https, on a public address (loopback, private and link-local "
    "addresses and plain http only when the server sets RAPPORT_ALLOW_PRIVATE_WEBHOOKS=1)"
)
_TYPES_DOC = (
    "Event types to receive: exact (`contact.created`), a family (`contact.*`) or `*`; GET "
    "/webhooks/event-types lists them. Each item is trimmed and duplicates are dropped"
)
_TYPE_ITEM = {
    "type": "string",
    "description": "An event type Rapport emits (`contact.created`), a family of them by its "
    "first segment (`contact.*`), or `*` for every event type",
    "maxLength": 100,
    "pattern": r"^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_]*))$",
    "examples": ["contact.created", "contact.*", "*"],
}


def _document_type_items(schema: dict[str, Any]) -> None:
    """What an item of `eventTypes` may be, in the schema only: the items are checked as a
    whole by `_known_patterns`, so that a refusal names the field `eventTypes`."""
    schema["items"] = dict(_TYPE_ITEM)


def _document_type_items_not_null(schema: dict[str, Any]) -> None:
    not_null(schema)
    _document_type_items(schema)


def _known_patterns(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = list(dict.fromkeys(v.strip() for v in value))
    for pattern in cleaned:
        error = pattern_error(pattern)
        if error is not None:
            raise ValueError(error)
    return cleaned


class WebhookCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.com/rapport/webhooks",
                    "eventTypes": ["contact.created", "contact.updated", "task.*"],
                    "description": "Sync contacts and tasks to billing",
                    "active": True,
                }
            ]
        }
    )

    url: str = Field(
        min_length=1,
        max_length=2048,
        description=_URL_DOC,
        examples=["https://example.com/rapport/webhooks"],
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=100,
        description=_TYPES_DOC,
        examples=[["contact.*"]],
        json_schema_extra=_document_type_items,
    )
    description: str | None = Field(
        default=None,
        max_length=500,
        examples=["Sync to billing"],
        description="A note for people, shown in the webhook list",
    )
    active: bool = Field(
        default=True,
        description="false creates it paused: no event is delivered to it until it is activated",
    )

    _patterns = field_validator("event_types")(_known_patterns)


class WebhookUpdate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "eventTypes": ["contact.*", "company.*"],
                    "description": "Sync contacts and companies to billing",
                }
            ]
        }
    )

    url: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=2048,
        description=_URL_DOC,
    )
    event_types: list[str] | None = Field(
        default=None,
        json_schema_extra=_document_type_items_not_null,
        min_length=1,
        max_length=100,
        description=_TYPES_DOC + "; replaces the whole list",
    )
    description: str | None = Field(
        default=None, max_length=500, description="A note for people; null clears it"
    )
    active: bool | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="false pauses deliveries; true also re-enables a webhook "
        "Rapport disabled after failures",
    )

    _patterns = field_validator("event_types")(_known_patterns)


class WebhookOut(WireModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None = Field(
        description="Why Rapport disabled the webhook, when it did", examples=[None]
    )
    disabled_at: datetime | None
    consecutive_failures: int = Field(description="Failed deliveries since the last success")
    last_success_at: datetime | None = Field(description="Kept to within 10 seconds")
    last_failure_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (Rapport-Signature); shown once, never again",
        examples=["whsec_Jm2..."],
    )


class EventTypeOut(WireModel):
    type: str = Field(examples=["contact.created"])
    description: str


class DeliveryOut(WireModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    resource_id: uuid.UUID
    status: DeliveryStatus = Field(
        description="waiting (behind an earlier delivery of the same record), pending (queued "
        "or retrying), succeeded, failed (gave up)"
    )
    attempts: int = Field(description="Requests made so far")
    response_status: int | None = Field(description="HTTP status of the last attempt")
    latency_ms: int | None = Field(description="Duration of the last attempt")
    last_error: str | None
    next_attempt_at: datetime | None
    replay_of: uuid.UUID | None = Field(description="The delivery this one replays")
    created_at: datetime
    finished_at: datetime | None


class AttemptOut(WireModel):
    number: int
    started_at: datetime
    response_status: int | None
    latency_ms: int
    error: str | None
    response_body: str | None = Field(description="The first KiB of the receiver's answer")


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut] = Field(description="Every attempt, first to last")
