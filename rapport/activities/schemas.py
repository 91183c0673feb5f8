"""Wire shapes of activities and notes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from rapport.events.schemas import ActorOut
from rapport.kit.schemas import FreeProperties, InputModel, UtcDateTime, WireModel, not_null
from rapport.models.activities import Activity, ActivityModule, ActivityType

CONTENT_LIMIT = 65_536

_SUBJECT_DOC = "A short title; trimmed, and blank is stored as null"
_CONTENT_DOC = "Free text; required (not blank) when the type is NOTE"
_PROPERTIES_DOC = (
    "Free-form JSON object, stored and returned as given (a call's duration and outcome, a "
    "page view's URL...), within the record limits: 200 keys of at most 64 characters, "
    "lists of at most 100 items, 1,000 values and 64 KiB in all, nesting of at most 10 levels"
)


def _upper(value: Any) -> Any:
    """Types and modules are accepted in any case (`call` as well as `CALL`)."""
    return value.upper() if isinstance(value, str) else value


class ActivityOut(WireModel):
    id: uuid.UUID
    type: ActivityType
    module: ActivityModule
    subject: str | None = Field(examples=["Pricing call"])
    content: str | None = Field(examples=["Discussed pricing and timeline"])
    properties: dict[str, Any] = Field(examples=[{"duration": "30m", "outcome": "interested"}])
    occurred_at: datetime
    contact_id: uuid.UUID | None
    company_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    actor: ActorOut = Field(description="Who logged it")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, activity: Activity) -> ActivityOut:
        return cls(
            id=activity.id,
            type=activity.type,
            module=activity.module,
            subject=activity.subject,
            content=activity.content,
            properties=activity.properties,
            occurred_at=activity.occurred_at,
            contact_id=activity.contact_id,
            company_id=activity.company_id,
            lead_id=activity.lead_id,
            actor=ActorOut(type=activity.actor_type, id=activity.actor_id),
            created_at=activity.created_at,
            updated_at=activity.updated_at,
        )


class ActivityCreate(InputModel):
    """An activity of the contact in the path (`/contacts/{id}/activities`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "CALL",
                    "subject": "Pricing call",
                    "content": "Walked through the Growth plan; they want a proposal by Friday.",
                    "properties": {"durationMinutes": 30, "outcome": "interested"},
                    "occurredAt": "2026-03-02T14:30:00Z",
                    "module": "CRM",
                }
            ]
        }
    )

    type: ActivityType = Field(description="Any case: `CALL` or `call`", examples=["CALL"])
    subject: str | None = Field(default=None, max_length=300, description=_SUBJECT_DOC)
    content: str | None = Field(default=None, max_length=CONTENT_LIMIT, description=_CONTENT_DOC)
    properties: FreeProperties = Field(default_factory=dict, description=_PROPERTIES_DOC)
    occurred_at: UtcDateTime | None = Field(
        default=None,
        description="When it happened (ISO 8601; default: now). Moves the contact's "
        "lastActivityAt forward, never back",
    )
    module: ActivityModule = Field(
        default=ActivityModule.CRM,
        description="The area of the business it belongs to (any case); GET /contacts?module= "
        "lists the contacts with an activity in a module",
    )
    company_id: uuid.UUID | None = Field(
        default=None, description="A company of this workspace (checked)"
    )
    lead_id: uuid.UUID | None = Field(
        default=None,
        description="A lead of this workspace: the activity shows on the lead's timeline too "
        "(POST /activities with a leadId alone links the lead's contact and company)",
    )

    _type_case = field_validator("type", "module", mode="before")(_upper)


class ActivityLog(ActivityCreate):
    """An activity of a contact and/or a company (`POST /activities`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "MEETING",
                    "subject": "Quarterly review",
                    "content": "Reviewed usage and renewal terms with the account team.",
                    "properties": {"location": "Video call", "attendees": 4},
                    "occurredAt": "2026-03-03T10:00:00Z",
                    "contactId": "5f0c6a52-8a4e-4b8e-9a57-2f1d3c4b5a69",
                }
            ]
        }
    )

    contact_id: uuid.UUID | None = Field(
        default=None,
        description="A contact of this workspace; the id of a merged contact logs the activity "
        "on the contact it was merged into. contactId, companyId or leadId is required",
    )


class ActivityUpdate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "content": "Walked through the Growth plan; proposal sent on Thursday.",
                    "properties": {"durationMinutes": 45, "outcome": "proposal sent"},
                }
            ]
        }
    )

    type: ActivityType | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="Any case; changing it to NOTE needs content",
    )
    subject: str | None = Field(default=None, max_length=300, description="null or blank clears it")
    content: str | None = Field(
        default=None,
        max_length=CONTENT_LIMIT,
        description="null clears it, except on a NOTE (a note needs content)",
    )
    properties: FreeProperties | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="Replaces the whole object (send every key to keep)",
    )
    occurred_at: UtcDateTime | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="ISO 8601; a later time moves the contact's lastActivityAt forward",
    )

    _type_case = field_validator("type", mode="before")(_upper)


class NoteOut(WireModel):
    id: uuid.UUID
    contact_id: uuid.UUID | None
    subject: str | None
    content: str | None = Field(examples=["Prefers email over calls"])
    author: ActorOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, note: Activity) -> NoteOut:
        return cls(
            id=note.id,
            contact_id=note.contact_id,
            subject=note.subject,
            content=note.content,
            author=ActorOut(type=note.actor_type, id=note.actor_id),
            created_at=note.created_at,
            updated_at=note.updated_at,
        )


class NoteCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "Buying process",
                    "content": "Prefers email over calls. The budget is approved in the March "
                    "board meeting.",
                }
            ]
        }
    )

    content: str = Field(
        min_length=1, max_length=CONTENT_LIMIT, description="The note's text; not blank"
    )
    subject: str | None = Field(default=None, max_length=300, description=_SUBJECT_DOC)


class NoteUpdate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "content": "Prefers email over calls. The budget was approved on 12 March.",
                }
            ]
        }
    )

    content: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=CONTENT_LIMIT,
        description="The note's text; not blank",
    )
    subject: str | None = Field(default=None, max_length=300, description="null or blank clears it")
