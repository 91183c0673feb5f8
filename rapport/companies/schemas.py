"""Wire shapes of companies and memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import ConfigDict, Field

from rapport.contacts.schemas import ContactOut
from rapport.kit.batch import BatchWrite
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.companies import CompanyRole, CompanyStatus

_PROPERTIES = {"annual_revenue": 5000000}
_DOMAIN_DOC = "Stored normalised (`https://www.Acme.com/x` -> `acme.com`); unique per workspace"
_EXTERNAL_ID_DOC = "The caller's own id (e.g. from another system); unique per workspace"
_PROPERTIES_DOC = (
    "Custom properties by key, each checked against the workspace's COMPANY definitions "
    "(see /api/v1/properties)"
)
_SAMPLE_ID = "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"


CompanyRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=255,
        description="The company's id or externalId",
        examples=["cmp_1042"],
    ),
]
"""How every route names a company in its path."""


class CompanyOut(WireModel):
    id: uuid.UUID
    name: str = Field(examples=["Acme Corp"])
    domain: str | None = Field(description=_DOMAIN_DOC, examples=["acme.com"])
    external_id: str | None = Field(description="The caller's own id", examples=["cmp_1042"])
    industry: str | None = Field(examples=["SaaS"])
    size: str | None = Field(examples=["50-200"])
    plan: str | None = Field(examples=["Enterprise"])
    website: str | None = Field(examples=["https://acme.com"])
    phone: str | None = Field(description="E.164", examples=["+14155552671"])
    role: CompanyRole = Field(description="The commercial relationship")
    status: CompanyStatus
    owner_user_id: uuid.UUID | None = Field(description="The workspace user who owns it")
    properties: dict[str, Any] = Field(examples=[_PROPERTIES])
    created_at: datetime
    updated_at: datetime


class CompanyCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Pinecrest Logistics",
                    "domain": "pinecrest-logistics.example",
                    "externalId": "sf-0018842",
                    "industry": "Logistics",
                    "size": "51-200",
                    "plan": "Enterprise",
                    "website": "https://pinecrest-logistics.example",
                    "phone": "+14155550132",
                    "role": "prospect",
                    "status": "active",
                    "ownerUserId": _SAMPLE_ID,
                    "properties": {"annual_revenue": 5000000, "tier": "silver"},
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=300, examples=["Acme Corp"])
    domain: str | None = Field(default=None, max_length=300, description=_DOMAIN_DOC)
    external_id: str | None = Field(
        default=None, min_length=1, max_length=255, description=_EXTERNAL_ID_DOC
    )
    industry: str | None = Field(default=None, max_length=200)
    size: str | None = Field(
        default=None, max_length=50, description="Headcount band, free text", examples=["50-200"]
    )
    plan: str | None = Field(
        default=None, max_length=100, description="The company's plan or contract, free text"
    )
    website: str | None = Field(
        default=None, max_length=2048, description="An http(s) URL; a bare host gets `https://`"
    )
    phone: str | None = Field(
        default=None,
        max_length=64,
        description="Stored as E.164; a number without country code is read with the "
        "workspace's default phone region",
    )
    role: CompanyRole = Field(
        default=CompanyRole.PROSPECT, description="The commercial relationship"
    )
    status: CompanyStatus = CompanyStatus.ACTIVE
    owner_user_id: uuid.UUID | None = Field(default=None, description="A user of the workspace")
    properties: dict[str, Any] = Field(
        default_factory=dict, description=_PROPERTIES_DOC, examples=[_PROPERTIES]
    )


class CompanyUpdate(InputModel):
    """Only the fields sent change; `null` clears a field. `properties` merge key by key (a
    key sent as `null` is removed)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "customer", "properties": {"tier": "gold"}}]}
    )

    name: str | None = Field(default=None, json_schema_extra=not_null, min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=300, description=_DOMAIN_DOC)
    external_id: str | None = Field(
        default=None, min_length=1, max_length=255, description=_EXTERNAL_ID_DOC
    )
    industry: str | None = Field(default=None, max_length=200)
    size: str | None = Field(default=None, max_length=50, description="Headcount band, free text")
    plan: str | None = Field(
        default=None, max_length=100, description="The company's plan or contract, free text"
    )
    website: str | None = Field(
        default=None, max_length=2048, description="An http(s) URL; a bare host gets `https://`"
    )
    phone: str | None = Field(
        default=None, max_length=64, description="Stored as E.164 (see CompanyCreate)"
    )
    role: CompanyRole | None = Field(
        default=None, json_schema_extra=not_null, description="The commercial relationship"
    )
    status: CompanyStatus | None = Field(default=None, json_schema_extra=not_null)
    owner_user_id: uuid.UUID | None = Field(
        default=None, description="A user of the workspace; `null` unassigns the company"
    )
    properties: dict[str, Any] | None = Field(
        default=None,
        description="Merged key by key (a key sent as `null` is removed; `null` for the whole "
        "object removes every key)",
    )


class MembershipCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"companyId": _SAMPLE_ID, "role": "Technical Advisor", "isPrimary": False}]
        }
    )

    company_id: uuid.UUID = Field(
        description="The company's id (not its externalId); 422 if no such company",
        examples=[_SAMPLE_ID],
    )
    role: str | None = Field(
        default=None,
        max_length=200,
        description="The contact's job or role at the company, free text",
        examples=["Decision Maker"],
    )
    is_primary: bool = Field(
        default=False, description="The contact's primary company (replaces the previous one)"
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Custom properties of the membership, checked against the workspace's "
        "CONTACT_COMPANY definitions",
        examples=[{}],
    )


class MembershipUpdate(InputModel):
    """Only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "Head of Engineering", "isPrimary": True}]}
    )

    role: str | None = Field(
        default=None, max_length=200, description="Free text; `null` clears it"
    )
    is_primary: bool | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="`true` makes this the contact's primary company (the previous primary one "
        "stops being primary); `false` on the primary one leaves the contact without one",
    )
    properties: dict[str, Any] | None = Field(
        default=None, description="Merged key by key (a key sent as null is removed)"
    )


class MembershipOut(WireModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    company_id: uuid.UUID
    role: str | None = Field(examples=["CTO"])
    is_primary: bool
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactCompanyOut(WireModel):
    """A company of a contact, with the contact's place in it."""

    membership_id: uuid.UUID
    role: str | None = Field(examples=["CTO"])
    is_primary: bool
    company: CompanyOut


class CompanyContactOut(WireModel):
    """A contact of a company, with its place in it."""

    membership_id: uuid.UUID
    role: str | None = Field(examples=["CTO"])
    is_primary: bool
    contact: ContactOut


class CompanyBatch(BatchWrite[CompanyCreate]):
    """Up to 1,000 companies to create (with `upsert`, to create or update)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {"name": "Northwind Traders", "domain": "northwind.example"},
                        {"name": "Globex", "externalId": "sf-0020001", "industry": "Energy"},
                    ],
                    "upsert": True,
                }
            ]
        }
    )
