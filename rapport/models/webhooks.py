"""Webhook subscriptions, their deliveries, and each delivery's attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class Webhook(TenantOwned, IdMixin, TimestampMixin, Base):
    """An endpoint subscribed to event types (`contact.*`, `*` or exact types). The secret signs
    every delivery, so it is kept (unlike API keys, which are only hashed), encrypted with a
    key derived from the app's secret key (`rapport.webhooks.signing.secret_box`)."""

    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(String(500))
    encrypted_secret: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class DeliveryStatus(Choice):
    WAITING = "waiting"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


UNFINISHED = (DeliveryStatus.WAITING, DeliveryStatus.PENDING)


class WebhookDelivery(TenantOwned, IdMixin, TimestampMixin, Base):
    """One event on its way to one webhook.

    Deliveries of one record to one webhook go out in event order: a delivery waits (WAITING)
    while an earlier one of the same record is unfinished, and is PENDING (a job is queued for
    it) otherwise. A replay is a new delivery outside that order (`replay_of` set).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
        Index("ix_webhook_deliveries_chain", "webhook_id", "resource_id", "status"),
    )

    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(100))
    event_sequence: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    resource_id: Mapped[uuid.UUID]
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None]
    latency_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    replay_of: Mapped[uuid.UUID | None]


class WebhookAttempt(TenantOwned, IdMixin, Base):
    """One HTTP request of a delivery, as the receiver answered it (or why it could not)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    started_at: Mapped[datetime]
    response_status: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text, doc="The first KiB of the answer")
