"""Outbound email: the SMTP connections a workspace sends through, and each email sent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class MailChannel(Choice):
    """How mail leaves. `gmail` and `outlook` name the provider and, for now, go through its
    SMTP server with an app password like `smtp` (their OAuth sign-in is not supported)."""

    SMTP = "smtp"
    GMAIL = "gmail"
    OUTLOOK = "outlook"


class TlsMode(Choice):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class OutboundEmailStatus(Choice):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboundEmailConnection(TenantOwned, IdMixin, TimestampMixin, Base):
    """An SMTP account of the workspace. The password must be sent to the server, so it is
    kept (encrypted with a key derived from the app's secret key, bound to the row's id:
    `rapport.mail.service.password_box`), never shown."""

    __tablename__ = "outbound_email_connections"
    __table_args__ = (
        Index("uq_outbound_email_connections_tenant_name", "tenant_id", "name", unique=True),
    )

    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[MailChannel] = mapped_column(enum_type(MailChannel))
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int]
    tls_mode: Mapped[TlsMode] = mapped_column(enum_type(TlsMode))
    username: Mapped[str] = mapped_column(String(320))
    encrypted_password: Mapped[str] = mapped_column(String(1024))
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(200))
    verified_at: Mapped[datetime] = mapped_column(doc="When the server last accepted the login")
    max_messages_per_second: Mapped[float | None] = mapped_column(
        Float(precision=53),
        doc="Campaign messages it takes per second, from every worker together; None: no limit",
    )
    paced_until: Mapped[float | None] = mapped_column(
        Float(precision=53),
        doc="Seconds since the epoch up to which its sending slots are taken "
        "(`ConnectionRepository.take_slots`)",
    )


class OutboundEmail(TenantOwned, IdMixin, TimestampMixin, Base):
    """One email to one recipient, queued, then sent (or failed) by a job. It keeps what was
    sent (sanitised HTML, the plain-text part, the Message-ID) and the server's last refusal.
    The activity it logged on the contact's timeline carries its delivery status too."""

    __tablename__ = "outbound_emails"

    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outbound_email_connections.id", ondelete="SET NULL")
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), doc="The lead it was sent about"
    )
    activity_id: Mapped[uuid.UUID | None] = mapped_column(doc="The EMAIL activity it logged")
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboundEmailStatus] = mapped_column(enum_type(OutboundEmailStatus))
    message_id: Mapped[str] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text, doc="The server's refusal, when it failed")
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
