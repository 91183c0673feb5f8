"""Leads (deals) and the history of their stage moves."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.clock import utcnow
from rapport.kit.db import Base, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned
from rapport.models.pipelines import StageKind


class Lead(TenantOwned, IdMixin, TimestampMixin, Base):
    """A deal being worked through a pipeline. Money is kept as an integer count of the
    currency's minor unit (cents, or yen for JPY), so sums are exact on both databases.
    `status` is the kind of the stage the lead sits in, kept on the row for filtering."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_leads_stage", "tenant_id", "stage_id", "created_at", "id"),
        Index("ix_leads_pipeline_status", "tenant_id", "pipeline_id", "status", "closed_at"),
        Index("ix_leads_contact", "tenant_id", "contact_id"),
        Index("ix_leads_company", "tenant_id", "company_id"),
        Index("ix_leads_owner", "tenant_id", "owner_user_id"),
        # The dashboard's open pipeline, summed from the index alone.
        Index(
            "ix_leads_status_stage_amounts",
            "tenant_id",
            "status",
            "stage_id",
            "currency",
            "value_minor",
            "probability_pct",
        ),
        Index("ix_leads_closed", "tenant_id", "closed_at"),
    )

    title: Mapped[str] = mapped_column(String(300))
    value_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    probability_pct: Mapped[int | None] = mapped_column(
        doc="Set on the lead; null follows the stage's default probability"
    )
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_stages.id"))
    status: Mapped[StageKind] = mapped_column(enum_type(StageKind), default=StageKind.OPEN)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL")
    )
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expected_close_date: Mapped[date | None]
    source: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None]
    lost_reason: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(doc="Bumped by every UPDATE; the ETag")

    __mapper_args__ = {"version_id_col": version}


class LeadStageChange(TenantOwned, IdMixin, Base):
    """A lead entering a stage: at creation (no from-stage) or moved. `seconds_in_from_stage`
    is how long it sat in the stage it left, kept for the dashboard's time-in-stage."""

    __tablename__ = "lead_stage_changes"
    __table_args__ = (
        Index("ix_lead_stage_changes_lead", "tenant_id", "lead_id", "changed_at"),
        # The dashboard's time in stage over a period, from the index alone.
        Index(
            "ix_lead_stage_changes_changed",
            "tenant_id",
            "changed_at",
            "from_stage_id",
            "seconds_in_from_stage",
        ),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    from_stage_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pipeline_stages.id", ondelete="SET NULL")
    )
    to_stage_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pipeline_stages.id", ondelete="SET NULL")
    )
    from_stage_name: Mapped[str | None] = mapped_column(String(100))
    to_stage_name: Mapped[str] = mapped_column(String(100))
    to_kind: Mapped[StageKind] = mapped_column(enum_type(StageKind))
    seconds_in_from_stage: Mapped[int | None] = mapped_column(BigInteger)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
