"""Tags, and which contacts and companies carry them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rapport.kit.clock import utcnow
from rapport.kit.db import Base, IdMixin, TimestampMixin
from rapport.kit.tenant_guard import TenantOwned


class Tag(TenantOwned, IdMixin, TimestampMixin, Base):
    __tablename__ = "tags"
    __table_args__ = (Index("uq_tags_tenant_key", "tenant_id", "key", unique=True),)

    key: Mapped[str] = mapped_column(String(64), doc="Lowercase letters, digits, - and _")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    color: Mapped[str | None] = mapped_column(String(7), doc="#RRGGBB")


class ContactTag(TenantOwned, Base):
    __tablename__ = "contact_tags"
    # Led by the workspace, as the guard's condition is: the carriers of one tag are a range
    # of this index (SQLite's planner otherwise walks the workspace's rows).
    __table_args__ = (Index("ix_contact_tags_tag", "tenant_id", "tag_id", "contact_id"),)

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tag: Mapped[Tag] = relationship(lazy="raise")


class CompanyTag(TenantOwned, Base):
    __tablename__ = "company_tags"
    __table_args__ = (Index("ix_company_tags_tag", "tenant_id", "tag_id", "company_id"),)

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tag: Mapped[Tag] = relationship(lazy="raise")
