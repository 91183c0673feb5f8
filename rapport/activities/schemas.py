"""Wire shapes of activities and notes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from rapport.events.schemas import ActorOut
from rapport.kit.schemas import InputModel, UtcDateTime, WireModel, not_null
from rapport.models.activities import Activity, ActivityModule, ActivityType

CONTENT_LIMIT = 65_536


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

    type: ActivityType = Field(description="Any case: `CALL` or `call`", examples=["CALL"])
    subject: str | None = Field(default=None, max_length=300)
    content: str | None = Field(default=None, max_length=CONTENT_LIMIT)
    properties: dict[str, Any] = Field(default_factory=dict)
    occurred_at: UtcDateTime | None = Field(default=None, description="Default: now")
    module: ActivityModule = ActivityModule.CRM
    company_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None

    _type_case = field_validator("type", "module", mode="before")(_upper)


class ActivityLog(ActivityCreate):
    """An activity of a contact and/or a company (`POST /activities`)."""

    contact_id: uuid.UUID | None = None


class ActivityUpdate(InputModel):
    type: ActivityType | None = Field(default=None, json_schema_extra=not_null)
    subject: str | None = Field(default=None, max_length=300)
    content: str | None = Field(default=None, max_length=CONTENT_LIMIT)
    properties: dict[str, Any] | None = Field(default=None, json_schema_extra=not_null)
    occurred_at: UtcDateTime | None = Field(default=None, json_schema_extra=not_null)

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
    content: str = Field(min_length=1, max_length=CONTENT_LIMIT)
    subject: str | None = Field(default=None, max_length=300)


class NoteUpdate(InputModel):
    content: str | None = Field(
        default=None, json_schema_extra=not_null, min_length=1, max_length=CONTENT_LIMIT
    )
    subject: str | None = Field(default=None, max_length=300)
