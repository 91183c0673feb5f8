"""Every query on campaigns and their messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import exists, func, insert, literal, select, update

from rapport.kit.aggregates import as_time, bucket_start
from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.campaigns import (
    BounceType,
    Campaign,
    CampaignInteraction,
    CampaignMessage,
    CampaignStatus,
    InteractionKind,
    MessageStatus,
)


class CampaignRepository(Repository[Campaign]):
    model = Campaign
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Campaign.created_at,
        "updatedAt": Campaign.updated_at,
        "name": Campaign.name,
    }

    async def page(
        self, request: PageRequest, status: CampaignStatus | None
    ) -> tuple[list[Campaign], PageMeta]:
        stmt = self.select()
        if status is not None:
            stmt = stmt.where(Campaign.status == status)
        return await paginate(self.session, stmt, request, self.sort_columns, Campaign.id)

    async def locked(self, campaign_id: uuid.UUID) -> Campaign | None:
        """The campaign as committed, changes of it waiting for each other until commit (a
        row lock on PostgreSQL, the write lock on SQLite)."""
        campaign = await self.get(campaign_id)
        if campaign is not None:
            await self.lock_row(campaign)
        return campaign


class MessageRepository(Repository[CampaignMessage]):
    model = CampaignMessage
    sort_columns: ClassVar[dict[str, Any]] = {
        "email": CampaignMessage.email,
        "sentAt": CampaignMessage.sent_at,
    }

    async def page(
        self, campaign_id: uuid.UUID, request: PageRequest, status: MessageStatus | None
    ) -> tuple[list[CampaignMessage], PageMeta]:
        stmt = self.select().where(CampaignMessage.campaign_id == campaign_id)
        if status is not None:
            stmt = stmt.where(CampaignMessage.status == status)
        return await paginate(self.session, stmt, request, self.sort_columns, CampaignMessage.id)

    async def counts(self, campaign_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
        """Messages per status, per campaign."""
        if not campaign_ids:
            return {}
        result = await self.session.execute(
            select(CampaignMessage.campaign_id, CampaignMessage.status, func.count())
            .where(CampaignMessage.campaign_id.in_(campaign_ids))
            .group_by(CampaignMessage.campaign_id, CampaignMessage.status)
        )
        found: dict[uuid.UUID, dict[str, int]] = {}
        for campaign_id, status, count in result:
            found.setdefault(campaign_id, {})[MessageStatus(status).value] = count
        return found

    async def add_all(self, rows: list[dict[str, Any]]) -> None:
        """Message rows written in one statement (the tenant guard stamps each)."""
        if rows:
            await self.session.execute(insert(CampaignMessage), rows)

    async def queued_chunks(self, campaign_id: uuid.UUID) -> list[int]:
        result = await self.session.execute(
            select(CampaignMessage.chunk)
            .where(
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.status == MessageStatus.QUEUED,
            )
            .distinct()
            .order_by(CampaignMessage.chunk)
        )
        return list(result.scalars())

    async def queued_in_chunk(self, campaign_id: uuid.UUID, chunk: int) -> list[CampaignMessage]:
        result = await self.session.execute(
            self.select()
            .where(
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.chunk == chunk,
                CampaignMessage.status == MessageStatus.QUEUED,
            )
            .order_by(CampaignMessage.id)
        )
        return list(result.scalars())

    async def any_queued(self, campaign_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            select(CampaignMessage.id)
            .where(
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.status == MessageStatus.QUEUED,
            )
            .limit(1)
        )
        return result.first() is not None

    async def settle(
        self,
        message_id: uuid.UUID,
        status: MessageStatus,
        reason: str | None = None,
        *,
        was: MessageStatus = MessageStatus.QUEUED,
    ) -> bool:
        """A message that is `was` (queued) becomes failed or skipped (or a sent one failed);
        False if it was not any more (another run got to it first)."""
        result = await self.session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id == message_id, CampaignMessage.status == was)
            .values(status=status, reason=reason, sent_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def settle_sent(
        self, message_ids: Sequence[uuid.UUID], sent_at: datetime
    ) -> set[uuid.UUID]:
        """The queued messages among these whose campaign is sending become sent; the ids of
        those that did (the others were sent by another run, or their campaign stopped)."""
        result = await self.session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.id.in_(message_ids),
                CampaignMessage.status == MessageStatus.QUEUED,
                exists().where(
                    Campaign.id == CampaignMessage.campaign_id,
                    Campaign.status == CampaignStatus.SENDING,
                ),
            )
            .values(status=MessageStatus.SENT, reason=None, sent_at=sent_at)
            .returning(CampaignMessage.id)
            .execution_options(synchronize_session=False)
        )
        return set(result.scalars())

    async def of_contacts(self, contact_ids: Sequence[uuid.UUID]) -> list[CampaignMessage]:
        result = await self.session.execute(
            self.select()
            .where(CampaignMessage.contact_id.in_(contact_ids))
            .order_by(CampaignMessage.id)
        )
        return list(result.scalars())

    async def redact_of_contacts(self, contact_ids: Sequence[uuid.UUID]) -> int:
        """The rows keep their status and times (the campaign's counts stay right), not
        the address, the contact or a reason that may quote them."""
        result = await self.session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.contact_id.in_(contact_ids))
            .values(email="", contact_id=None, reason=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    async def figures(self, campaign_id: uuid.UUID) -> list[tuple[Any, ...]]:
        """Per status and bounce type: messages, opened, clicked, complained,
        unsubscribed."""
        m = CampaignMessage
        result = await self.session.execute(
            select(
                m.status,
                m.bounce_type,
                func.count(),
                func.count(m.opened_at),
                func.count(m.clicked_at),
                func.count(m.complained_at),
                func.count(m.unsubscribed_at),
            )
            .where(m.campaign_id == campaign_id)
            .group_by(m.status, m.bounce_type)
        )
        return [tuple(row) for row in result]

    async def sent_buckets(self, campaign_id: uuid.UUID, interval: str) -> dict[datetime, int]:
        start = bucket_start(CampaignMessage.sent_at, literal(interval))
        result = await self.session.execute(
            select(start, func.count())
            .where(CampaignMessage.campaign_id == campaign_id, CampaignMessage.sent_at.is_not(None))
            .group_by(start)
        )
        return {as_time(at): count for at, count in result}

    async def mark_first(self, message_id: uuid.UUID, column: Any, at: datetime) -> bool:
        """Set the message's `column` (opened_at, clicked_at, ...) unless set; whether this
        was the first time."""
        result = await self.session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id == message_id, column.is_(None))
            .values({column.key: at})
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def latest_to(self, email: str) -> CampaignMessage | None:
        """The last message sent to the address."""
        result = await self.session.execute(
            self.select()
            .where(CampaignMessage.email == email, CampaignMessage.sent_at.is_not(None))
            .order_by(CampaignMessage.sent_at.desc(), CampaignMessage.id.desc())
            .limit(1)
        )
        message: CampaignMessage | None = result.scalar_one_or_none()
        return message

    async def soft_bounces_to(self, email: str) -> int:
        result = await self.session.execute(
            select(func.count()).where(
                CampaignMessage.email == email, CampaignMessage.bounce_type == BounceType.SOFT
            )
        )
        return int(result.scalar_one())

    async def skip_queued_to(self, contact_ids: Sequence[uuid.UUID], reason: str) -> None:
        await self.session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.contact_id.in_(contact_ids),
                CampaignMessage.status == MessageStatus.QUEUED,
            )
            .values(status=MessageStatus.SKIPPED, reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def skip_queued(self, campaign_id: uuid.UUID, reason: str) -> int:
        result = await self.session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.status == MessageStatus.QUEUED,
            )
            .values(status=MessageStatus.SKIPPED, reason=reason)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))


class InteractionRepository(Repository[CampaignInteraction]):
    model = CampaignInteraction

    async def record(
        self, message: CampaignMessage, kind: InteractionKind, at: datetime, url: str | None
    ) -> None:
        self.add(
            CampaignInteraction(
                campaign_id=message.campaign_id,
                message_id=message.id,
                kind=kind,
                url=url,
                at=at,
            )
        )
        await self.flush()

    async def totals(self, campaign_id: uuid.UUID) -> dict[InteractionKind, int]:
        result = await self.session.execute(
            select(CampaignInteraction.kind, func.count())
            .where(CampaignInteraction.campaign_id == campaign_id)
            .group_by(CampaignInteraction.kind)
        )
        return {InteractionKind(kind): count for kind, count in result}

    async def links(self, campaign_id: uuid.UUID, limit: int) -> list[tuple[str, int, int]]:
        """Each link clicked: its address, recipients who clicked it, clicks."""
        clicks = func.count()
        result = await self.session.execute(
            select(
                CampaignInteraction.url,
                func.count(CampaignInteraction.message_id.distinct()),
                clicks,
            )
            .where(
                CampaignInteraction.campaign_id == campaign_id,
                CampaignInteraction.kind == InteractionKind.CLICKED,
            )
            .group_by(CampaignInteraction.url)
            .order_by(clicks.desc(), CampaignInteraction.url)
            .limit(limit)
        )
        return [(url or "", unique, total) for url, unique, total in result]

    async def buckets(
        self, campaign_id: uuid.UUID, interval: str
    ) -> dict[tuple[InteractionKind, datetime], int]:
        start = bucket_start(CampaignInteraction.at, literal(interval))
        result = await self.session.execute(
            select(CampaignInteraction.kind, start, func.count())
            .where(CampaignInteraction.campaign_id == campaign_id)
            .group_by(CampaignInteraction.kind, start)
        )
        return {(InteractionKind(kind), as_time(at)): count for kind, at, count in result}
