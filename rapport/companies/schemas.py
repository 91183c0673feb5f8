"""Wire shapes of companies and memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from rapport.contacts.schemas import ContactOut
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.companies import CompanyRole, CompanyStatus

_PROPERTIES = {"annual_revenue": 5000000}
_DOMAIN_DOC = "Stored normalised (`https://www.Acme.com/x` -> `acme.com`); unique per workspace"


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
    name: str = Field(min_length=1, max_length=300, examples=["Acme Corp"])
    domain: str | None = Field(default=None, max_length=300, description=_DOMAIN_DOC)
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    industry: str | None = Field(default=None, max_length=200)
    size: str | None = Field(default=None, max_length=50, examples=["50-200"])
    plan: str | None = Field(default=None, max_length=100)
    website: str | None = Field(default=None, max_length=2048)
    phone: str | None = Field(default=None, max_length=64)
    role: CompanyRole = CompanyRole.PROSPECT
    status: CompanyStatus = CompanyStatus.ACTIVE
    owner_user_id: uuid.UUID | None = Field(default=None, description="A user of the workspace")
    properties: dict[str, Any] = Field(default_factory=dict, examples=[_PROPERTIES])


class CompanyUpdate(InputModel):
    """Only the fields sent change; `null` clears a field. `properties` merge key by key (a
    key sent as `null` is removed)."""

    name: str | None = Field(default=None, json_schema_extra=not_null, min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=300)
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    industry: str | None = Field(default=None, max_length=200)
    size: str | None = Field(default=None, max_length=50)
    plan: str | None = Field(default=None, max_length=100)
    website: str | None = Field(default=None, max_length=2048)
    phone: str | None = Field(default=None, max_length=64)
    role: CompanyRole | None = Field(default=None, json_schema_extra=not_null)
    status: CompanyStatus | None = Field(default=None, json_schema_extra=not_null)
    owner_user_id: uuid.UUID | None = None
    properties: dict[str, Any] | None = None


class MembershipCreate(InputModel):
    company_id: uuid.UUID = Field(examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"])
    role: str | None = Field(default=None, max_length=200, examples=["Decision Maker"])
    is_primary: bool = Field(
        default=False, description="The contact's primary company (replaces the previous one)"
    )
    properties: dict[str, Any] = Field(
        default_factory=dict, description="CONTACT_COMPANY properties", examples=[{}]
    )


class MembershipUpdate(InputModel):
    role: str | None = Field(default=None, max_length=200)
    is_primary: bool | None = Field(default=None, json_schema_extra=not_null)
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
