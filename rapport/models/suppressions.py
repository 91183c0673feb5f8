"""Suppressions: addresses a workspace must not hold or write to again, known by their hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.clock import utcnow
from rapport.kit.db import Base, Choice, IdMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class SuppressionReason(Choice):
    ERASED = "erased"
    MANUAL = "manual"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Suppression(TenantOwned, IdMixin, Base):
    """One email address of the workspace's suppression list, by the SHA-256 of its
    normalised form. The address itself is kept only where the reason needs it: never for an
    erased person, whom the hash alone recognises when the address comes back."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index("uq_suppressions_tenant_email_hash", "tenant_id", "email_hash", unique=True),
        # The list, newest first (its default order).
        Index("ix_suppressions_tenant_created", "tenant_id", "created_at", "id"),
    )

    email_hash: Mapped[str] = mapped_column(String(64), doc="sha256 hex of the lowercase email")
    email: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[SuppressionReason] = mapped_column(enum_type(SuppressionReason))
    source: Mapped[str | None] = mapped_column(
        String(200), doc="Free text: where the entry came from (a campaign, a form, a person)"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
