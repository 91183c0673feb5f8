"""Wire shapes of campaigns."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field

from rapport.kit.schemas import InputModel, NestedInput, UtcDateTime, WireModel
from rapport.models.campaigns import BounceType, CampaignStatus, MessageStatus

_HTML = '<p>Hello {{ contact.givenName | default("there") }},</p><p>Our spring offer is here.</p>'


Interval = Literal["hour", "day"]


class Audience(NestedInput):
    """Who the campaign goes to, evaluated when sending starts: members of any list in
    `includeLists`, minus members of any list in `excludeLists`, that also match `filter` (a
    query-language text `where` or a JSON filter). Only contacts whose consent allows
    marketing email receive it; the others are listed as skipped, with the reason."""

    include_lists: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    exclude_lists: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    filter: str | dict[str, Any] | None = Field(
        default=None,
        description="A text `where` (`lifecycleStage = CUSTOMER AND tag = vip`) or a JSON "
        "filter; with no lists, the audience is every contact it matches",
        examples=["lifecycleStage = CUSTOMER"],
    )


class _Content(InputModel):
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=300)
    preheader: str | None = Field(default=None, max_length=300)
    html_body: str | None = Field(default=None, max_length=1_000_000)
    text_body: str | None = Field(default=None, max_length=1_000_000)
    template_id: uuid.UUID | None = Field(
        default=None,
        description="Copy the template's subject, preheader and bodies into the campaign "
        "(those sent here win)",
    )
    connection_id: uuid.UUID | None = Field(
        default=None,
        description="The outbound email connection sending it; none: the local maildir "
        "under the data directory (for trying campaigns out)",
    )
    from_address: str = Field(max_length=320, examples=["news@acme.example"])
    from_name: str | None = Field(default=None, max_length=200)
    reply_to: str | None = Field(default=None, max_length=320)
    audience: Audience
    track_opens: bool = Field(
        default=True, description="Add an image one pixel wide that counts opens"
    )
    track_clicks: bool = Field(
        default=True,
        description="Send links to the web through Rapport, which counts clicks and redirects",
    )


class CampaignCreate(_Content):
    """A draft campaign. Merge tags (`{{ contact.givenName }}`, `{{ unsubscribe_url }}`)
    are checked now; an unsubscribe link and the List-Unsubscribe headers are added to every
    message."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Spring offer",
                    "subject": "Our spring offer, {{ contact.givenName | default('friend') }}",
                    "htmlBody": _HTML,
                    "fromAddress": "news@acme.example",
                    "fromName": "Acme",
                    "audience": {"filter": "lifecycleStage = CUSTOMER"},
                }
            ]
        }
    )


class CampaignUpdate(InputModel):
    """Changes to a draft; fields left out stay."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"subject": "Last days"}]})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    preheader: str | None = Field(default=None, max_length=300)
    html_body: str | None = Field(default=None, max_length=1_000_000)
    text_body: str | None = Field(default=None, max_length=1_000_000)
    connection_id: uuid.UUID | None = None
    from_address: str | None = Field(default=None, max_length=320)
    from_name: str | None = Field(default=None, max_length=200)
    reply_to: str | None = Field(default=None, max_length=320)
    audience: Audience | None = None
    track_opens: bool | None = None
    track_clicks: bool | None = None


class SendRequest(InputModel):
    """Send now, or at `scheduledAt` (also accepted as `scheduled_at`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    scheduled_at: UtcDateTime | None = Field(
        default=None,
        validation_alias=AliasChoices("scheduledAt", "scheduled_at"),
        description="When to start (a time in the past or none: now)",
    )


class CampaignCounts(WireModel):
    recipients: int = Field(description="Everyone in the frozen audience")
    queued: int
    sent: int
    failed: int
    skipped: int = Field(description="Not sent to: no consent, suppressed, cancelled")


class CampaignOut(WireModel):
    id: uuid.UUID
    name: str
    subject: str
    preheader: str | None
    html_body: str
    text_body: str | None
    template_id: uuid.UUID | None
    connection_id: uuid.UUID | None
    from_address: str
    from_name: str | None
    reply_to: str | None
    audience: dict[str, Any]
    track_opens: bool
    track_clicks: bool
    status: CampaignStatus
    status_reason: str | None = Field(description="Why it paused or failed")
    scheduled_at: datetime | None
    started_at: datetime | None = Field(description="When its audience was frozen")
    finished_at: datetime | None
    counts: CampaignCounts
    created_at: datetime
    updated_at: datetime


class RecipientOut(WireModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    contact_id: uuid.UUID | None
    email: str
    status: MessageStatus
    reason: str | None = Field(description="Why it was skipped or failed")
    sent_at: datetime | None
    opened_at: datetime | None = Field(description="Its first open")
    clicked_at: datetime | None = Field(description="Its first click")
    bounced_at: datetime | None
    bounce_type: BounceType | None
    complained_at: datetime | None
    unsubscribed_at: datetime | None


class LinkStats(WireModel):
    url: str
    clicked_unique: int = Field(description="Recipients who clicked it")
    clicked_total: int


class BucketStats(WireModel):
    start: datetime
    sent: int
    opened: int = Field(description="Opens (all of them) in the bucket")
    clicked: int


class Rates(WireModel):
    """Fractions (0 to 1): delivery and bounce of those sent, the others of those
    delivered; click-to-open of those who opened."""

    delivery: float
    bounce: float
    open: float
    click: float
    click_to_open: float
    unsubscribe: float
    complaint: float


class BounceCounts(WireModel):
    total: int
    hard: int
    soft: int


class CampaignStats(WireModel):
    recipients: int
    queued: int
    sent: int
    failed: int
    skipped: int
    delivered: int = Field(description="Sent and not bounced")
    bounced: BounceCounts
    opened_unique: int
    opened_total: int
    clicked_unique: int
    clicked_total: int
    unsubscribed: int
    complained: int
    rates: Rates
    links: list[LinkStats] = Field(description="The 100 most clicked links")
    interval: Interval
    timeline: list[BucketStats]


class FeedbackKind(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


class FeedbackIn(InputModel):
    """What a mail server or provider reported about a message: a bounce (hard: the
    address does not exist; soft: a full mailbox, a server down) or a spam complaint. Name
    the message by its `messageId` (the Message-ID header Rapport gave it, or the recipient's
    id), or else the address."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "bounce",
                    "bounceType": "hard",
                    "email": "gone@example.com",
                    "reason": "550 5.1.1 User unknown",
                }
            ]
        }
    )

    type: FeedbackKind
    bounce_type: BounceType | None = Field(default=None, description="Of a bounce; default hard")
    email: str | None = Field(default=None, max_length=320)
    message_id: str | None = Field(default=None, max_length=998)
    reason: str | None = Field(default=None, max_length=1000)


class FeedbackOut(WireModel):
    type: FeedbackKind
    bounce_type: BounceType | None
    email: str | None
    message_id: uuid.UUID | None = Field(description="The campaign message it was about")
    campaign_id: uuid.UUID | None
    contact_ids: list[uuid.UUID] = Field(description="The contacts whose email status changed")
    suppressed: bool = Field(description="Whether the address went on the suppression list")
