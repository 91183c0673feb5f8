"""A campaign's running counts, kept with every change to its messages, opens and clicks, so
that its figures are read from a few rows whatever its size (`CampaignTally`).

Each change adds to the counts it affects in its own transaction (written at commit, summed,
in key order: `rapport.kit.deferred.add_at_commit`), so the counts are exact: they commit and
roll back with the change. A transaction writes its amounts to one of a few rows per count
(its shard), so that concurrent senders and clicks seldom wait for one another.

Keys: `status:<status>` (messages by status), `bounce:<hard|soft>`, `first:<opened|clicked|
complained|unsubscribed>` (messages with one), `total:<opened|clicked>` (every open and
click), `hour:<sent|opened|clicked>:<YYYY-MM-DDTHH>` (UTC), `link:<digest>` and
`link1:<digest>` (a link's clicks, and the messages that clicked it; its address in `label`).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.deferred import add_at_commit
from rapport.kit.ids import new_id
from rapport.models.campaigns import BounceType, CampaignTally, InteractionKind, MessageStatus

SHARDS = 8
_KEY = ("tenant_id", "campaign_id", "key", "shard")


def status(value: MessageStatus) -> str:
    return f"status:{value.value}"


def bounce(value: BounceType) -> str:
    return f"bounce:{value.value}"


def first(what: str) -> str:
    return f"first:{what}"


def total(kind: InteractionKind) -> str:
    return f"total:{kind.value}"


def hour(what: str, at: datetime) -> str:
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return f"hour:{what}:{moment:%Y-%m-%dT%H}"


def hour_start(key: str) -> datetime:
    """The start of the hour a `hour:` key counts."""
    return datetime.strptime(key.rsplit(":", 1)[1], "%Y-%m-%dT%H").replace(tzinfo=UTC)


def link(url: str, *, unique: bool = False) -> str:
    digest = hashlib.sha256(url.encode()).hexdigest()[:40]
    return f"link{'1' if unique else ''}:{digest}"


class Recount:
    """The counts of campaigns counted again from their rows (messages, then interactions),
    as rows of `CampaignTally` (for campaigns that had none: the migration that brought them,
    data written without the services)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[uuid.UUID, uuid.UUID], Counter[str]] = {}
        self.labels: dict[str, str] = {}
        self.clicked: set[tuple[uuid.UUID, str]] = set()

    def message(
        self,
        tenant_id: uuid.UUID,
        campaign_id: uuid.UUID,
        status_of: str,
        bounce_type: str | None,
        sent_at: datetime | None,
        **firsts: datetime | None,
    ) -> None:
        """`firsts`: opened_at, clicked_at, complained_at, unsubscribed_at."""
        counted = self.counts.setdefault((tenant_id, campaign_id), Counter())
        counted[status(MessageStatus(status_of))] += 1
        if bounce_type:
            counted[bounce(BounceType(bounce_type))] += 1
        if sent_at is not None:
            counted[hour("sent", sent_at)] += 1
        for name, at in firsts.items():
            if at is not None:
                counted[first(name.removesuffix("_at"))] += 1

    def interaction(
        self,
        tenant_id: uuid.UUID,
        campaign_id: uuid.UUID,
        message_id: uuid.UUID,
        kind_of: str,
        url: str | None,
        at: datetime,
    ) -> None:
        kind = InteractionKind(kind_of)
        counted = self.counts.setdefault((tenant_id, campaign_id), Counter())
        counted[total(kind)] += 1
        counted[hour(kind.value, at)] += 1
        if url is not None:
            counted[link(url)] += 1
            self.labels[link(url)] = url
            if (message_id, url) not in self.clicked:
                self.clicked.add((message_id, url))
                counted[link(url, unique=True)] += 1

    def rows(self) -> list[dict[str, object]]:
        return [
            {
                "id": new_id(),
                "tenant_id": tenant_id,
                "campaign_id": campaign_id,
                "key": key,
                "shard": 0,
                "value": value,
                "label": self.labels.get(key),
            }
            for (tenant_id, campaign_id), counted in self.counts.items()
            for key, value in counted.items()
        ]


class Tally:
    """What one transaction adds to the counts of a workspace's campaigns."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.shard = random.randrange(SHARDS)

    def add(
        self, campaign_id: uuid.UUID, counts: Counter[str], labels: dict[str, str] | None = None
    ) -> None:
        for key, amount in counts.items():
            if amount:
                add_at_commit(
                    self.session,
                    CampaignTally,
                    _KEY,
                    {
                        "id": new_id(),
                        "tenant_id": self.tenant_id,
                        "campaign_id": campaign_id,
                        "key": key,
                        "shard": self.shard,
                        "value": amount,
                        "label": (labels or {}).get(key),
                    },
                )

    def one(self, campaign_id: uuid.UUID, *keys: str, amount: int = 1) -> None:
        self.add(campaign_id, Counter(dict.fromkeys(keys, amount)))
