"""Domain events: the record of every change, written in the transaction of the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.clock import utcnow
from rapport.kit.db import Base
from rapport.kit.ids import new_id
from rapport.kit.tenant_guard import TenantOwned


class Event(TenantOwned, Base):
    """`sequence` orders events as they were written (per record, in the order of its changes);
    `id` is the public identifier."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_sequence", "tenant_id", "sequence"),
        Index("ix_events_tenant_resource", "tenant_id", "resource_id", "sequence"),
        Index("ix_events_tenant_type", "tenant_id", "type", "sequence"),
        # SQLite would otherwise reuse the numbers of the highest rows once they are deleted,
        # and consumers of the stream would never see the events that got them.
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=new_id)
    type: Mapped[str] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(50))
    resource_id: Mapped[uuid.UUID]
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EventCursor(Base):
    """How far a consumer of the event stream (webhook dispatch, later segments and journeys)
    has read. Every event up to `position` is handled, and so are the sequences in `pending`,
    which lie above it: events that committed before an earlier sequence did (PostgreSQL hands
    out sequence numbers at insert, transactions commit in their own order)."""

    __tablename__ = "event_cursors"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[int | None] = mapped_column(BigInteger())
    pending: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
