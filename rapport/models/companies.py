"""Companies, and which contacts belong to which company (memberships)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned
from rapport.models.contacts import Contact


class CompanyRole(Choice):
    """The commercial relationship with the company."""

    PROSPECT = "prospect"
    CUSTOMER = "customer"
    VENDOR = "vendor"
    BOTH = "both"


class CompanyStatus(Choice):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Company(TenantOwned, IdMixin, TimestampMixin, Base):
    """Domain and externalId are unique per workspace (the domain normalised: `acme.com`)."""

    __tablename__ = "companies"
    __table_args__ = (
        Index(
            "uq_companies_tenant_domain",
            "tenant_id",
            "domain",
            unique=True,
            sqlite_where=text("domain IS NOT NULL"),
            postgresql_where=text("domain IS NOT NULL"),
        ),
        Index(
            "uq_companies_tenant_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index("ix_companies_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_companies_tenant_name", "tenant_id", "name"),
        Index("ix_companies_tenant_owner", "tenant_id", "owner_user_id"),
    )

    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253))
    external_id: Mapped[str | None] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[str | None] = mapped_column(String(50))
    plan: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(2048))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[CompanyRole] = mapped_column(enum_type(CompanyRole), default=CompanyRole.PROSPECT)
    status: Mapped[CompanyStatus] = mapped_column(
        enum_type(CompanyStatus), default=CompanyStatus.ACTIVE
    )
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(doc="Bumped by every UPDATE; the ETag")

    __mapper_args__ = {"version_id_col": version}


class CompanyMembership(TenantOwned, IdMixin, TimestampMixin, Base):
    """A contact's place in a company: a role (free text: "CTO", "Decision Maker") and whether
    it is the contact's primary company (at most one per contact)."""

    __tablename__ = "company_memberships"
    __table_args__ = (
        UniqueConstraint("contact_id", "company_id", name="uq_company_memberships_pair"),
        Index(
            "uq_company_memberships_primary",
            "contact_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
        Index("ix_company_memberships_company", "company_id", "created_at"),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(200))
    is_primary: Mapped[bool] = mapped_column(default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(
        default=dict, doc="Checked against the CONTACT_COMPANY property definitions"
    )

    company: Mapped[Company] = relationship(lazy="raise")
    contact: Mapped[Contact] = relationship(lazy="raise")
