"""Wire shapes of webhooks, deliveries and attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from rapport.events.catalog import pattern_error
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.webhooks import DeliveryStatus

_URL_DOC = (
    "Where deliveries are POSTed: https, on a public address (loopback, private and link-local "
    "addresses and plain http only when the server sets RAPPORT_ALLOW_PRIVATE_WEBHOOKS=1)"
)
_TYPES_DOC = "Event types to receive: exact (`contact.created`), a family (`contact.*`) or `*`"


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
    url: str = Field(
        min_length=1,
        max_length=2048,
        description=_URL_DOC,
        examples=["https://hooks.example.com/rapport"],
    )
    event_types: list[str] = Field(
        min_length=1, max_length=50, description=_TYPES_DOC, examples=[["contact.*"]]
    )
    description: str | None = Field(default=None, max_length=500, examples=["Sync to billing"])
    active: bool = True

    _patterns = field_validator("event_types")(_known_patterns)


class WebhookUpdate(InputModel):
    url: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=2048,
        description=_URL_DOC,
    )
    event_types: list[str] | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=50,
        description=_TYPES_DOC,
    )
    description: str | None = Field(default=None, max_length=500)
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
