"""Lists (segments): named sets of contacts or companies, static (members added and removed
by hand) or dynamic (the records matching a query, kept current as the data changes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.clock import utcnow
from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class ListEntity(Choice):
    CONTACT = "CONTACT"
    COMPANY = "COMPANY"


class SegmentList(TenantOwned, IdMixin, TimestampMixin, Base):
    """A list. A dynamic one stores its query (`criteria`: `{"where": text}` or
    `{"filter": json}`) and its membership is materialised in `list_members`, so a read of its
    members or its count never runs the query; `member_count` is kept with every change of
    membership."""

    __tablename__ = "lists"
    __table_args__ = (
        Index("uq_lists_tenant_name", "tenant_id", "entity_type", "name", unique=True),
        Index("ix_lists_tenant_dynamic", "tenant_id", "is_dynamic", "entity_type"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    entity_type: Mapped[ListEntity] = mapped_column(enum_type(ListEntity))
    is_dynamic: Mapped[bool] = mapped_column(default=False)
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    relative_to_now: Mapped[bool] = mapped_column(
        default=False, doc="The query depends on the time (within last...): refreshed periodically"
    )
    member_count: Mapped[int] = mapped_column(BigInteger, default=0)
    evaluated_at: Mapped[datetime | None]


class ListMember(TenantOwned, Base):
    """One record in one list. `record_id` is a contact's or a company's id, as the list's
    entity type says; a record leaves every list when it is deleted."""

    __tablename__ = "list_members"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "list_id", "record_id"),
        Index("ix_list_members_record", "tenant_id", "record_id"),
        Index("ix_list_members_added", "tenant_id", "list_id", "added_at", "record_id"),
    )

    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    record_id: Mapped[uuid.UUID]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
