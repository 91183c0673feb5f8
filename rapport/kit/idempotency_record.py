"""Responses remembered for `Idempotency-Key` retries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, IdMixin
from rapport.kit.tenant_guard import TenantOwned


class IdempotencyRecord(TenantOwned, IdMixin, Base):
    """One POST answered under a caller's key. `scope` names the caller and its workspace
    (`api_key:<id>:<tenant>` or `user:<id>:<tenant>`)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_idempotency_records_expires_at", "expires_at"),
    )

    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_headers: Mapped[dict[str, str]] = mapped_column(JSON)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
