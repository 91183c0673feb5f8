"""Imports: a CSV file of contacts, uploaded once and read by a job in chunks, each chunk
committed with the progress it makes, so that an interrupted import resumes where it stopped."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class ImportStatus(Choice):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class DedupMode(Choice):
    """What a row naming an existing contact (by externalId, else email) does."""

    SKIP = "skip"
    UPDATE = "update"
    CREATE_NEW = "create_new"


class Import(TenantOwned, IdMixin, TimestampMixin, Base):
    """One import: the file's layout, how its columns map to fields, what to do with
    duplicates and what to apply, and how far its job has come (`rows_done` data rows are
    committed, with their counts). The file lives under the data directory until the import
    ends."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_tenant_created", "tenant_id", "created_at", "id"),)

    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str] = mapped_column(String(40))
    delimiter: Mapped[str] = mapped_column(String(1))
    header: Mapped[list[str]] = mapped_column(JSON, doc="The file's column names, in order")
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, doc="Column name -> field name")
    dedup: Mapped[DedupMode] = mapped_column(enum_type(DedupMode))
    tag_ids: Mapped[list[str]] = mapped_column(JSON, doc="Tags put on every contact imported")
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        doc="The static list every contact imported joins"
    )
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus))
    rows_total: Mapped[int] = mapped_column(BigInteger)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    created_count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_count: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped_count: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_count: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_type: Mapped[str] = mapped_column(String(20))
    requested_by_id: Mapped[uuid.UUID | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class ImportRowError(TenantOwned, Base):
    """Why a row of an import was not imported: its number as a spreadsheet shows it, the
    column at fault when one is, the reason."""

    __tablename__ = "import_row_errors"

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    column: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
