"""Wire shapes of the views of one contact."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from rapport.activities.schemas import ActivityOut
from rapport.contacts.schemas import ContactOut
from rapport.events.schemas import EventOut
from rapport.kit.schemas import WireModel
from rapport.models.contacts import ContactStatus, LifecycleStage


class ContactCompany(WireModel):
    id: uuid.UUID
    name: str = Field(examples=["Acme Corp"])
    domain: str | None = Field(examples=["acme.com"])
    role: str | None = Field(description="The contact's role in the company", examples=["CTO"])
    is_primary: bool


class ContactTagRef(WireModel):
    id: uuid.UUID
    key: str = Field(examples=["vip"])
    name: str = Field(examples=["VIP Customer"])
    color: str | None = Field(examples=["#FFD700"])


class ContactDetail(ContactOut):
    """The contact with its companies (primary first), tags and activity count."""

    companies: list[ContactCompany]
    tags: list[ContactTagRef]
    activity_count: int = Field(examples=[26])


class ContactSummary(WireModel):
    id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    status: ContactStatus
    lifecycle_stage: LifecycleStage | None
    companies: list[ContactCompany]
    tags: list[str] = Field(description="Tag keys", examples=[["vip", "enterprise"]])
    activity_count: int
    open_task_count: int
    last_activity_at: datetime | None


class TimelineItem(WireModel):
    kind: str = Field(description="activity (notes included) or event (a change)")
    occurred_at: datetime
    activity: ActivityOut | None = None
    event: EventOut | None = None
