"""Wire shapes of contacts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import Field

from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.contacts import ContactStatus, LifecycleStage

_EXAMPLE_PROPERTIES = {"plan": "Enterprise", "mrr": 4999}

ContactRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=320,
        description="The contact's id, email address, or externalId",
        examples=["alice@example.com"],
    ),
]
"""How every route names a contact in its path."""


class ContactOut(WireModel):
    id: uuid.UUID
    email: str | None = Field(examples=["alice@example.com"])
    name: str | None = Field(examples=["Alice Johnson"])
    given_name: str | None = Field(examples=["Alice"])
    family_name: str | None = Field(examples=["Johnson"])
    phone: str | None = Field(description="E.164", examples=["+14155552671"])
    external_id: str | None = Field(description="The caller's own id", examples=["crm-1042"])
    status: ContactStatus
    lifecycle_stage: LifecycleStage | None
    owner_user_id: uuid.UUID | None = Field(description="The workspace user who owns it")
    properties: dict[str, Any] = Field(examples=[_EXAMPLE_PROPERTIES])
    is_identified: bool = Field(description="Has an email or an externalId")
    last_activity_at: datetime | None
    merged_into_id: uuid.UUID | None = Field(
        description="Set when this contact was merged into another (status MERGED)"
    )
    created_at: datetime
    updated_at: datetime


class ContactCreate(InputModel):
    email: str | None = Field(default=None, max_length=320, examples=["alice@example.com"])
    name: str | None = Field(default=None, max_length=300, examples=["Alice Johnson"])
    given_name: str | None = Field(default=None, max_length=150, examples=["Alice"])
    family_name: str | None = Field(default=None, max_length=150, examples=["Johnson"])
    phone: str | None = Field(
        default=None,
        max_length=64,
        description="Any common spelling; stored as E.164. Without a country code the "
        "workspace's defaultPhoneRegion is used.",
        examples=["+1 415 555 2671"],
    )
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    status: ContactStatus = Field(default=ContactStatus.ACTIVE)
    lifecycle_stage: LifecycleStage | None = Field(default=None, examples=["LEAD"])
    owner_user_id: uuid.UUID | None = Field(default=None, description="A user of the workspace")
    properties: dict[str, Any] = Field(default_factory=dict, examples=[_EXAMPLE_PROPERTIES])


class ContactUpdate(InputModel):
    """Only the fields sent change; `null` clears a field. `properties` merge into the stored
    ones key by key (a key sent as `null` is removed)."""

    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=300)
    given_name: str | None = Field(default=None, max_length=150)
    family_name: str | None = Field(default=None, max_length=150)
    phone: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    status: ContactStatus | None = Field(default=None, json_schema_extra=not_null)
    lifecycle_stage: LifecycleStage | None = None
    owner_user_id: uuid.UUID | None = Field(
        default=None, description="A user of the workspace; null leaves it unowned"
    )
    properties: dict[str, Any] | None = Field(default=None, examples=[{"mrr": 9999, "old": None}])


class ContactUpsert(ContactCreate):
    upsert: bool = Field(
        default=False,
        description="When a live contact has this externalId (else this email), update it with "
        "the fields sent instead of answering 409",
    )


class ResolveRequest(InputModel):
    email: str | None = Field(default=None, max_length=320, examples=["alice@example.com"])
    phone: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=300)


class ResolveCandidate(WireModel):
    contact: ContactOut
    score: float = Field(description="0 to 1: how surely this is the same person")
    reasons: list[str] = Field(
        description="What matched: externalId, email, phone, name", examples=[["email"]]
    )


class ResolveResult(WireModel):
    match: ContactOut | None = Field(description="The contact, when one matches surely (>= 0.9)")
    candidates: list[ResolveCandidate] = Field(description="Best first, at most 10")
