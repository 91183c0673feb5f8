"""Activities (calls, meetings, emails, notes, tracked events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.clock import utcnow
from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class ActivityType(Choice):
    NOTE = "NOTE"
    CALL = "CALL"
    MEETING = "MEETING"
    EMAIL = "EMAIL"
    TASK = "TASK"
    PAGE_VIEW = "PAGE_VIEW"
    CUSTOM_EVENT = "CUSTOM_EVENT"


class ActivityModule(Choice):
    CRM = "CRM"
    SUPPORT = "SUPPORT"
    INTEGRATION = "INTEGRATION"


class Activity(TenantOwned, IdMixin, TimestampMixin, Base):
    """Something that happened with a contact and/or a company. Notes are activities of type
    NOTE (also served at /contacts/{id}/notes)."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_contact", "tenant_id", "contact_id", "occurred_at", "id"),
        Index("ix_activities_company", "tenant_id", "company_id", "occurred_at", "id"),
        Index("ix_activities_tenant_occurred", "tenant_id", "occurred_at", "id"),
        Index("ix_activities_lead", "tenant_id", "lead_id", "occurred_at", "id"),
        # One user's activities of a period by type (the dashboard), from the index alone.
        Index("ix_activities_actor", "tenant_id", "actor_type", "actor_id", "occurred_at", "type"),
    )

    type: Mapped[ActivityType] = mapped_column(enum_type(ActivityType))
    module: Mapped[ActivityModule] = mapped_column(
        enum_type(ActivityModule), default=ActivityModule.CRM
    )
    subject: Mapped[str | None] = mapped_column(String(300))
    content: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE")
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL")
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), doc="The lead it concerns"
    )
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
