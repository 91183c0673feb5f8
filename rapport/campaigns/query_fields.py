"""Engagement in the query language: `campaignSent = <id>` (the campaign went to the contact),
`campaignOpened = <id>`, `campaignClicked in (<id>, <id>)`, and with `exists` any campaign:
`campaignOpened exists` is every contact who ever opened one. Counts of campaign emails:
`emailsSent`, `emailsOpened`, `emailsClicked` (`emailsOpened > 3 within last 90 days`: more
than three emails first opened in those days)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, select

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, Predicate, Source, count_field
from rapport.kit.cql.tree import Op
from rapport.models.campaigns import CampaignMessage, MessageStatus


def _messages(condition: ColumnElement[bool]) -> Callable[[Op, Any], Predicate]:
    def build(op: Op, value: Any) -> Predicate:
        contacts = select(CampaignMessage.contact_id).where(
            CampaignMessage.contact_id.is_not(None), condition
        )
        if op == Op.EXISTS:
            return contacts
        ids = value if isinstance(value, tuple) else (value,)
        return contacts.where(CampaignMessage.campaign_id.in_(ids))

    return build


_FIELDS = (
    ("campaignSent", "Campaign received", CampaignMessage.status == MessageStatus.SENT),
    ("campaignOpened", "Campaign opened", CampaignMessage.opened_at.is_not(None)),
    ("campaignClicked", "Campaign clicked", CampaignMessage.clicked_at.is_not(None)),
)


_COUNTS = (
    ("emailsSent", "Campaign emails sent", CampaignMessage.sent_at, "sent to the contact"),
    ("emailsOpened", "Campaign emails opened", CampaignMessage.opened_at, "opened, by first open"),
    (
        "emailsClicked",
        "Campaign emails clicked",
        CampaignMessage.clicked_at,
        "clicked, by first click",
    ),
)


async def provide(_context: Context, _nested: bool) -> list[Field]:
    counts = [
        count_field(
            name,
            label,
            CampaignMessage.contact_id,
            moment,
            moment.is_not(None),
            cost=6,
            description=f"Campaign emails {what}",
        )
        for name, label, moment, what in _COUNTS
    ]
    return counts + [
        Field(
            name,
            FieldType.ID,
            label,
            _messages(condition),
            source=Source.RELATION,
            cost=3,
            description=f"A campaign's id: {label.lower()} by the contact",
        )
        for name, label, condition in _FIELDS
    ]
