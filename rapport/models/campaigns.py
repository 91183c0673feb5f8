"""Email campaigns: one message written once and sent to an audience of contacts, each
recipient a message row created before anything is sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class CampaignStatus(Choice):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"


class MessageStatus(Choice):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class BounceType(Choice):
    HARD = "hard"
    SOFT = "soft"


class InteractionKind(Choice):
    OPENED = "opened"
    CLICKED = "clicked"


class Campaign(TenantOwned, IdMixin, TimestampMixin, Base):
    """What is sent (subject, preheader, bodies with merge tags; a template's content is
    copied in when the campaign is made from one), from whom, through which connection (none:
    the local maildir under the data directory), to which audience, and how far it got.
    `status_reason` says why a campaign paused or failed."""

    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_campaigns_status_scheduled", "status", "scheduled_at"),
    )

    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str | None] = mapped_column(String(300))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[uuid.UUID | None] = mapped_column(doc="The template it was made from")
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outbound_email_connections.id", ondelete="SET NULL")
    )
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    track_opens: Mapped[bool] = mapped_column(default=True)
    track_clicks: Mapped[bool] = mapped_column(default=True)
    status: Mapped[CampaignStatus] = mapped_column(enum_type(CampaignStatus))
    status_reason: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None] = mapped_column(doc="When its audience was frozen")
    finished_at: Mapped[datetime | None]


class CampaignMessage(TenantOwned, IdMixin, Base):
    """One recipient of a campaign, written when sending starts (the audience frozen): the
    address it goes to, its status, and why it was skipped or failed. A message goes from
    `queued` to `sent` in a transaction committed while its SMTP server still waits for the
    end of its data, so that no recipient gets it twice."""

    __tablename__ = "campaign_messages"
    __table_args__ = (
        Index(
            "uq_campaign_messages_tenant_campaign_contact",
            "tenant_id",
            "campaign_id",
            "contact_id",
            unique=True,
        ),
        Index("ix_campaign_messages_tenant_campaign_chunk", "tenant_id", "campaign_id", "chunk"),
        Index("ix_campaign_messages_tenant_campaign_status", "tenant_id", "campaign_id", "status"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus))
    reason: Mapped[str | None] = mapped_column(Text, doc="Why it was skipped or failed")
    chunk: Mapped[int] = mapped_column(doc="The sending job it belongs to")
    sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None] = mapped_column(doc="Its first open")
    clicked_at: Mapped[datetime | None] = mapped_column(doc="Its first click")
    bounced_at: Mapped[datetime | None]
    bounce_type: Mapped[BounceType | None] = mapped_column(enum_type(BounceType))
    complained_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class CampaignInteraction(TenantOwned, IdMixin, Base):
    """Each open and click of a campaign message (a message's first is also on its row):
    what totals, the clicks of each link and the figures over time are counted from."""

    __tablename__ = "campaign_interactions"
    __table_args__ = (
        Index(
            "ix_campaign_interactions_tenant_campaign_kind_at",
            "tenant_id",
            "campaign_id",
            "kind",
            "at",
        ),
        Index("ix_campaign_interactions_tenant_message", "tenant_id", "message_id"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaign_messages.id", ondelete="CASCADE")
    )
    kind: Mapped[InteractionKind] = mapped_column(enum_type(InteractionKind))
    url: Mapped[str | None] = mapped_column(Text, doc="The link clicked")
    at: Mapped[datetime]


class CampaignTally(TenantOwned, IdMixin, Base):
    """A running count of a campaign (`rapport.campaigns.tallies`): its messages by status,
    bounce and first open, click, complaint or unsubscribe; its opens and clicks; each hour's
    sends, opens and clicks; each link's clicks. Written in the transaction that changes
    what it counts, split over a few rows per count (`shard`) so that concurrent writers
    seldom wait for one another; a count is the sum of its rows."""

    __tablename__ = "campaign_tallies"
    __table_args__ = (
        Index(
            "uq_campaign_tallies_tenant_campaign_key_shard",
            "tenant_id",
            "campaign_id",
            "key",
            "shard",
            unique=True,
        ),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    shard: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str | None] = mapped_column(Text, doc="A link's address, for its keys")
