"""Exports: the contacts, companies or leads a query matches, written to a file by a job and
downloaded from it until the file expires."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class ExportEntity(Choice):
    CONTACT = "contact"
    COMPANY = "company"
    LEAD = "lead"


class ExportFormat(Choice):
    CSV = "csv"
    JSONL = "jsonl"


class ExportStatus(Choice):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


class Export(TenantOwned, IdMixin, TimestampMixin, Base):
    """One export: what was asked (the entity, the query as sent, the columns, the format) and
    how its job went. The file lives under the data directory (`rapport.exports.files`), not
    in the database; it is deleted when the export expires or is deleted."""

    __tablename__ = "exports"
    __table_args__ = (
        Index("ix_exports_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_exports_status_expires", "status", "expires_at"),
    )

    entity: Mapped[ExportEntity] = mapped_column(enum_type(ExportEntity))
    format: Mapped[ExportFormat] = mapped_column(enum_type(ExportFormat))
    query_where: Mapped[str | None] = mapped_column(Text, doc="The query as text, if sent so")
    query_filter: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="The query as JSON, if sent so"
    )
    columns: Mapped[list[str]] = mapped_column(JSON, doc="Field names, in file order")
    status: Mapped[ExportStatus] = mapped_column(enum_type(ExportStatus))
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_written: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_type: Mapped[str] = mapped_column(String(20))
    requested_by_id: Mapped[uuid.UUID | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(
        doc="When the file and its download links expire (set at completion)"
    )
