"""Wire shapes of contacts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import ConfigDict, Field, StringConstraints

from rapport.kit.batch import MAX_BATCH, BatchWrite
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.contacts import ContactStatus, LifecycleStage

_EXAMPLE_PROPERTIES = {"plan": "Enterprise", "mrr": 4999}
_EMAIL_DOC = "Stored lowercase; unique among the workspace's live contacts (not deleted or merged)"
_EXTERNAL_ID_DOC = "The caller's own id for the contact; unique among the workspace's live contacts"
_NAME_DOC = "Full name; when left out, made of givenName and familyName"
_PROPERTIES_DOC = (
    "Custom property values by key. Each key must be defined at /properties (unless the "
    "workspace allows free properties) and each value must fit its type."
)

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
    """At least one of email, phone, externalId or a name (name, givenName, familyName) is
    needed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "alice.johnson@example.com",
                    "givenName": "Alice",
                    "familyName": "Johnson",
                    "phone": "+1 415 555 2671",
                    "externalId": "crm-1042",
                    "lifecycleStage": "LEAD",
                    "properties": {
                        "company": "Acme Corp",
                        "source": "webinar",
                        "city": "Austin",
                    },
                }
            ]
        }
    )

    email: str | None = Field(
        default=None, max_length=320, description=_EMAIL_DOC, examples=["alice@example.com"]
    )
    name: str | None = Field(
        default=None, max_length=300, description=_NAME_DOC, examples=["Alice Johnson"]
    )
    given_name: str | None = Field(default=None, max_length=150, examples=["Alice"])
    family_name: str | None = Field(default=None, max_length=150, examples=["Johnson"])
    phone: str | None = Field(
        default=None,
        max_length=64,
        description="Any common spelling; stored as E.164. Without a country code the "
        "workspace's defaultPhoneRegion is used.",
        examples=["+1 415 555 2671"],
    )
    external_id: str | None = Field(
        default=None, min_length=1, max_length=255, description=_EXTERNAL_ID_DOC
    )
    status: ContactStatus = Field(
        default=ContactStatus.ACTIVE,
        description="Not MERGED: contacts become MERGED only by POST /contacts/{ref}/merge",
    )
    lifecycle_stage: LifecycleStage | None = Field(default=None, examples=["LEAD"])
    owner_user_id: uuid.UUID | None = Field(default=None, description="A user of the workspace")
    properties: dict[str, Any] = Field(
        default_factory=dict, description=_PROPERTIES_DOC, examples=[_EXAMPLE_PROPERTIES]
    )
    reconsent: bool = Field(
        default=False,
        description="The person behind this email was erased (POST /contacts/{ref}/erase) and "
        "has consented again: take the email back (409 CONTACT_ERASED otherwise)",
    )


class ContactUpdate(InputModel):
    """Only the fields sent change; `null` clears a field. `properties` merge into the stored
    ones key by key (a key sent as `null` is removed)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"lifecycleStage": "CUSTOMER", "properties": {"plan": "Growth", "mrr": 199}}
            ]
        }
    )

    email: str | None = Field(default=None, max_length=320, description=_EMAIL_DOC)
    name: str | None = Field(default=None, max_length=300, description="Full name")
    given_name: str | None = Field(default=None, max_length=150)
    family_name: str | None = Field(default=None, max_length=150)
    phone: str | None = Field(
        default=None,
        max_length=64,
        description="Any common spelling; stored as E.164 (see POST /contacts)",
    )
    external_id: str | None = Field(
        default=None, min_length=1, max_length=255, description=_EXTERNAL_ID_DOC
    )
    status: ContactStatus | None = Field(
        default=None,
        description="Not MERGED (use POST /contacts/{ref}/merge); DELETED is a soft delete, "
        "and ACTIVE or ARCHIVED restores a deleted contact",
        json_schema_extra=not_null,
    )
    lifecycle_stage: LifecycleStage | None = None
    owner_user_id: uuid.UUID | None = Field(
        default=None, description="A user of the workspace; null leaves it unowned"
    )
    properties: dict[str, Any] | None = Field(
        default=None,
        description="Merged into the stored values key by key: a key sent as null is removed, "
        "keys not sent stay. `properties: null` removes every value.",
        examples=[{"mrr": 9999, "old": None}],
    )
    reconsent: bool = Field(
        default=False,
        description="The person behind this email was erased (POST /contacts/{ref}/erase) and "
        "has consented again: take the email back (409 CONTACT_ERASED otherwise)",
    )


class ContactUpsert(ContactCreate):
    """A new contact: at least one of email, phone, externalId or a name (name, givenName,
    familyName) is needed. With `upsert`, the fields for the contact to update."""

    upsert: bool = Field(
        default=False,
        description="When a live contact has this externalId (else this email), update it with "
        "the fields sent instead of answering 409",
    )


class ContactBatch(BatchWrite[ContactCreate]):
    """Up to 1,000 contacts to create (with `upsert`, to create or update)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "email": "dana@example.com",
                            "givenName": "Dana",
                            "lifecycleStage": "LEAD",
                        },
                        {
                            "externalId": "crm-2001",
                            "name": "Eli Moreau",
                            "phone": "+33 1 42 68 53 00",
                        },
                    ],
                    "upsert": True,
                }
            ]
        }
    )


class ContactBatchDelete(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ids": ["alice@example.com", "crm-1042"]}]}
    )

    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=320)]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Up to 1,000 contacts, each named by id, email or externalId",
    )


class ResolveRequest(InputModel):
    """What is known of the person: at least one of email, phone, externalId, name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "alice.johnson@example.com",
                    "phone": "+1 415 555 2671",
                    "name": "Alice Johnson",
                }
            ]
        }
    )

    email: str | None = Field(default=None, max_length=320, examples=["alice@example.com"])
    phone: str | None = Field(
        default=None,
        max_length=64,
        description="Any common spelling, read as on POST /contacts",
        examples=["+1 415 555 2671"],
    )
    external_id: str | None = Field(
        default=None, max_length=255, description="The caller's own id for the contact"
    )
    name: str | None = Field(
        default=None,
        max_length=300,
        description="The full name; it matches a contact whose name is the same, ignoring "
        "case and accents",
        examples=["Alice Johnson"],
    )


class ResolveCandidate(WireModel):
    contact: ContactOut
    score: float = Field(description="0 to 1: how surely this is the same person")
    reasons: list[str] = Field(
        description="What matched: externalId, email, phone, name", examples=[["email"]]
    )


class ResolveResult(WireModel):
    match: ContactOut | None = Field(description="The contact, when one matches surely (>= 0.9)")
    candidates: list[ResolveCandidate] = Field(description="Best first, at most 10")
