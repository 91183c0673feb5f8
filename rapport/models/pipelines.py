"""Sales pipelines and their stages."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class StageKind(Choice):
    """What sitting in the stage means for a lead: still being worked, won or lost."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Pipeline(TenantOwned, IdMixin, TimestampMixin, Base):
    """A sequence of stages leads move through. Every workspace has exactly one default."""

    __tablename__ = "pipelines"
    __table_args__ = (
        Index("uq_pipelines_tenant_name", "tenant_id", "name", unique=True),
        Index(
            "uq_pipelines_tenant_default",
            "tenant_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)


class PipelineStage(TenantOwned, IdMixin, TimestampMixin, Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        Index("uq_pipeline_stages_name", "tenant_id", "pipeline_id", "name", unique=True),
        Index(
            "uq_pipeline_stages_system_key",
            "tenant_id",
            "pipeline_id",
            "system_key",
            unique=True,
            sqlite_where=text("system_key IS NOT NULL"),
            postgresql_where=text("system_key IS NOT NULL"),
        ),
        Index("ix_pipeline_stages_order", "tenant_id", "pipeline_id", "sort_order"),
    )

    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[StageKind] = mapped_column(enum_type(StageKind), default=StageKind.OPEN)
    sort_order: Mapped[int] = mapped_column(default=0)
    default_probability_pct: Mapped[int] = mapped_column(default=0)
    color_key: Mapped[str | None] = mapped_column(String(32))
    system_key: Mapped[str | None] = mapped_column(
        String(32), doc="The built-in stage it stands for (`new` ... `lost`); null for others"
    )
