"""Every query on campaigns and their messages."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import exists, func, insert, select, update

from rapport.campaigns import tallies
from rapport.campaigns.tallies import Tally
from rapport.kit.deferred import write_pending
from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import workspace_of
from rapport.models.campaigns import (
    BounceType,
    Campaign,
    CampaignInteraction,
    CampaignMessage,
    CampaignStatus,
    CampaignTally,
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


_TALLY = "rapport.campaign_tally"


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
        """Messages per status, per campaign (from its tallies, this transaction's included)."""
        if not campaign_ids:
            return {}
        await write_pending(self.session)
        result = await self.session.execute(
            select(CampaignTally.campaign_id, CampaignTally.key, func.sum(CampaignTally.value))
            .where(
                CampaignTally.campaign_id.in_(campaign_ids),
                CampaignTally.key.startswith("status:", autoescape=True),
            )
            .group_by(CampaignTally.campaign_id, CampaignTally.key)
        )
        found: dict[uuid.UUID, dict[str, int]] = {}
        for campaign_id, key, count in result:
            found.setdefault(campaign_id, {})[key.removeprefix("status:")] = int(count)
        return found

    async def tallied(self, campaign_id: uuid.UUID) -> dict[str, tuple[int, str | None]]:
        """Every count of the campaign (`rapport.campaigns.tallies`), with its label."""
        await write_pending(self.session)
        result = await self.session.execute(
            select(CampaignTally.key, func.sum(CampaignTally.value), func.max(CampaignTally.label))
            .where(CampaignTally.campaign_id == campaign_id)
            .group_by(CampaignTally.key)
        )
        return {key: (int(total), label) for key, total, label in result}

    def tally(self) -> Tally:
        """The counts this transaction adds to (`rapport.campaigns.tallies`): every change
        of a message below adds to them."""
        found: Tally | None = self.session.info.get(_TALLY)
        if found is None:
            found = self.session.info[_TALLY] = Tally(self.session, workspace_of(self.session))
        return found

    async def add_all(self, rows: list[dict[str, Any]]) -> None:
        """Message rows written in one statement (the tenant guard stamps each)."""
        if rows:
            await self.session.execute(insert(CampaignMessage), rows)
            for campaign_id in {row["campaign_id"] for row in rows}:
                counts = Counter(
                    tallies.status(row["status"])
                    for row in rows
                    if row["campaign_id"] == campaign_id
                )
                self.tally().add(campaign_id, counts)

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
        sent_at = None
        if was == MessageStatus.SENT:
            sent_at = await self.session.scalar(
                select(CampaignMessage.sent_at).where(CampaignMessage.id == message_id)
            )
        result = await self.session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id == message_id, CampaignMessage.status == was)
            .values(status=status, reason=reason, sent_at=None)
            .returning(CampaignMessage.campaign_id)
            .execution_options(synchronize_session=False)
        )
        campaign_id = result.scalar_one_or_none()
        if campaign_id is None:
            return False
        counts = Counter({tallies.status(was): -1, tallies.status(status): 1})
        if sent_at is not None:
            counts[tallies.hour("sent", sent_at)] -= 1
        self.tally().add(campaign_id, counts)
        return True

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
            .returning(CampaignMessage.id, CampaignMessage.campaign_id)
            .execution_options(synchronize_session=False)
        )
        settled = result.all()
        for campaign_id, count in Counter(campaign for _, campaign in settled).items():
            self.tally().add(
                campaign_id,
                Counter(
                    {
                        tallies.status(MessageStatus.QUEUED): -count,
                        tallies.status(MessageStatus.SENT): count,
                        tallies.hour("sent", sent_at): count,
                    }
                ),
            )
        return {message_id for message_id, _ in settled}

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

    async def mark_first(self, message_id: uuid.UUID, column: Any, at: datetime) -> bool:
        """Set the message's `column` (opened_at, clicked_at, ...) unless set; whether this
        was the first time."""
        result = await self.session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id == message_id, column.is_(None))
            .values({column.key: at})
            .returning(CampaignMessage.campaign_id)
            .execution_options(synchronize_session=False)
        )
        campaign_id = result.scalar_one_or_none()
        if campaign_id is None:
            return False
        self.tally().one(campaign_id, tallies.first(column.key.removesuffix("_at")))
        return True

    async def bounced(self, message: CampaignMessage, bounce: BounceType, at: datetime) -> None:
        """The message bounced (a hard bounce stays hard; a soft one may turn hard). Reports of
        one message that arrive at once wait for each other, each seeing the last one's."""
        await self.lock_row(message)
        if message.bounce_type == BounceType.HARD or message.bounce_type == bounce:
            return
        counts = Counter({tallies.bounce(bounce): 1})
        if message.bounce_type is not None:
            counts[tallies.bounce(message.bounce_type)] -= 1
        message.bounce_type = bounce
        message.bounced_at = message.bounced_at or at
        await self.flush()
        self.tally().add(message.campaign_id, counts)

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
        result = await self.session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.contact_id.in_(contact_ids),
                CampaignMessage.status == MessageStatus.QUEUED,
            )
            .values(status=MessageStatus.SKIPPED, reason=reason)
            .returning(CampaignMessage.campaign_id)
            .execution_options(synchronize_session=False)
        )
        for campaign_id, count in Counter(result.scalars()).items():
            self._skipped(campaign_id, count)

    def _skipped(self, campaign_id: uuid.UUID, count: int) -> None:
        self.tally().add(
            campaign_id,
            Counter(
                {
                    tallies.status(MessageStatus.QUEUED): -count,
                    tallies.status(MessageStatus.SKIPPED): count,
                }
            ),
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
        count = int(getattr(result, "rowcount", 0))
        self._skipped(campaign_id, count)
        return count


class InteractionRepository(Repository[CampaignInteraction]):
    model = CampaignInteraction

    async def record(
        self,
        message: CampaignMessage,
        kind: InteractionKind,
        at: datetime,
        url: str | None,
        tally: Tally,
    ) -> None:
        """An open or a click, counted in `tally` (its total, its hour, the link's clicks and,
        on its first click from this message, the link's recipients)."""
        counts = Counter({tallies.total(kind): 1, tallies.hour(kind.value, at): 1})
        labels = {}
        if url is not None:
            counts[tallies.link(url)] = 1
            labels[tallies.link(url)] = url
            # Clicks of one message on one link, at once: one of them is its first.
            await MessageRepository(self.session).lock_row(message)
            clicked_before = await self.first(
                CampaignInteraction.message_id == message.id, CampaignInteraction.url == url
            )
            if clicked_before is None:
                counts[tallies.link(url, unique=True)] = 1
        tally.add(message.campaign_id, counts, labels)
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
