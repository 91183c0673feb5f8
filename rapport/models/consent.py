"""Marketing consent: whether a contact agreed to receive marketing email, and how."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class ConsentStatus(Choice):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    PENDING = "pending"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class EmailConsent(TenantOwned, IdMixin, Base):
    """A contact's email consent, one row per contact (none: no consent recorded, so no
    marketing email). `confirmed_at` and the confirmation's client address and user agent are
    set when the person clicked the double opt-in link; they stay while the status stays
    `subscribed`."""

    __tablename__ = "email_consents"
    __table_args__ = (
        Index("uq_email_consents_tenant_contact", "tenant_id", "contact_id", unique=True),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[ConsentStatus] = mapped_column(enum_type(ConsentStatus))
    source: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime]
    confirmation_sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmation_ip: Mapped[str | None] = mapped_column(String(45))
    confirmation_user_agent: Mapped[str | None] = mapped_column(String(500))
