"""Durable background jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.clock import utcnow
from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class JobState(Choice):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class Job(TenantOwned, IdMixin, TimestampMixin, Base):
    """A unit of background work. `tenant_id` is null for the platform's own jobs, which no
    workspace sees.

    A running job holds a lease (`locked_by`, `locked_until`) that its worker extends while it
    works; a job whose lease ran out (its worker died) is claimed again.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_lease", "state", "locked_until"),
        Index("ix_jobs_tenant_state", "tenant_id", "state", "created_at"),
    )

    # Nullable, unlike other tenant-owned tables: platform jobs belong to no workspace.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    queue: Mapped[str] = mapped_column(String(50), default="default")
    task: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(default=0, doc="Higher runs first")
    state: Mapped[JobState] = mapped_column(enum_type(JobState), default=JobState.QUEUED)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=10)
    unique_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]


# A claim walks this in its own order and reads only the rows it takes.
Index(
    "ix_jobs_due",
    Job.queue,
    Job.priority.desc(),
    Job.run_at,
    Job.id,
    postgresql_where=text("state = 'queued'"),
    sqlite_where=text("state = 'queued'"),
)
