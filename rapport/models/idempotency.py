"""Responses remembered for `Idempotency-Key` retries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, IdMixin


class IdempotencyRecord(IdMixin, Base):
    """One POST keyed by the caller; `status_code` is null while the first attempt runs.

    Keyed by a hash of the credential that sent it (not by tenant), so the record exists before
    authentication and two keys of one workspace never share idempotency keys.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("credential_hash", "key"),
        Index("ix_idempotency_records_expires_at", "expires_at"),
    )

    credential_hash: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
