"""Contacts: the people a workspace knows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    event,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.normalize import folded
from rapport.kit.tenant_guard import TenantOwned


class ContactStatus(Choice):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    DELETED = "DELETED"
    MERGED = "MERGED"


GONE = (ContactStatus.DELETED, ContactStatus.MERGED)
"""Statuses of contacts that no longer count: excluded from lists and uniqueness."""


class LifecycleStage(Choice):
    SUBSCRIBER = "SUBSCRIBER"
    LEAD = "LEAD"
    MARKETING_QUALIFIED = "MARKETING_QUALIFIED"
    SALES_QUALIFIED = "SALES_QUALIFIED"
    OPPORTUNITY = "OPPORTUNITY"
    CUSTOMER = "CUSTOMER"
    EVANGELIST = "EVANGELIST"


_LIVE = "status NOT IN ('DELETED', 'MERGED')"


class Contact(TenantOwned, IdMixin, TimestampMixin, Base):
    """Email and externalId are unique among a workspace's live contacts (not deleted, not
    merged into another). A merged contact points at the contact it was merged into."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index(
            "uq_contacts_tenant_email",
            "tenant_id",
            "email",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        Index(
            "uq_contacts_tenant_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        Index("ix_contacts_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_contacts_tenant_phone", "tenant_id", "phone"),
        # Name order with a LIMIT (typeahead, lists by name) walks this index and stops early.
        Index("ix_contacts_tenant_name", "tenant_id", "name"),
        Index("ix_contacts_tenant_owner", "tenant_id", "owner_user_id"),
        # Queries see live contacts only: a stage's live contacts are one range of this.
        Index(
            "ix_contacts_live_stage",
            "tenant_id",
            "lifecycle_stage",
            "id",
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
    )

    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(150))
    family_name: Mapped[str | None] = mapped_column(String(150))
    phone: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[ContactStatus] = mapped_column(
        enum_type(ContactStatus), default=ContactStatus.ACTIVE
    )
    lifecycle_stage: Mapped[LifecycleStage | None] = mapped_column(enum_type(LifecycleStage))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_activity_at: Mapped[datetime | None]
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(doc="Bumped by every UPDATE; the ETag")
    search_text: Mapped[str | None] = mapped_column(
        Text,
        doc="Name, email and phone folded (no case, no accents): what search matches, set on "
        "every write; on PostgreSQL a trigram index (migration 0012) serves LIKE '%term%'",
    )

    # Every UPDATE carries `WHERE version = <read version>`: a concurrent change makes it
    # match nothing, which the repository reports as 412.
    __mapper_args__ = {"version_id_col": version}

    @hybrid_property
    def is_identified(self) -> bool:
        """Has an email or an externalId: in Python on a record, in SQL in a statement."""
        return self.email is not None or self.external_id is not None

    @is_identified.inplace.expression
    @classmethod
    def _is_identified_expression(cls) -> ColumnElement[bool]:
        return or_(cls.email.is_not(None), cls.external_id.is_not(None))


def search_text_of(name: str | None, *parts: str | None) -> str:
    return folded(" ".join(p for p in (name, *parts) if p))


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _fold_search_text(_mapper: object, _connection: object, contact: Contact) -> None:
    """Every ORM write of a contact refreshes what search matches."""
    contact.search_text = search_text_of(
        contact.name, contact.given_name, contact.family_name, contact.email, contact.phone
    )


class LiveCount(TenantOwned, Base):
    """How many live records (not deleted or merged) of an entity a workspace holds: the
    total of the unfiltered list, read in constant time instead of counted. Database triggers
    keep it (migration 0018) on every insert, status change and delete, whatever writes the
    rows (API, imports, bulk statements), in `SLOTS` rows that writers pick at random: one row
    per workspace would make concurrent writes wait for each other's commit. The total is the
    sum of the slots. A migration that rebuilds the contacts table on SQLite (batch mode) must
    create the triggers again (`tests/test_migrations.py` checks they exist)."""

    __tablename__ = "live_counts"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "entity", "slot"),)

    SLOTS: ClassVar[int] = 16

    entity: Mapped[str] = mapped_column(String(20))
    slot: Mapped[int] = mapped_column(SmallInteger)
    live: Mapped[int] = mapped_column(BigInteger)
