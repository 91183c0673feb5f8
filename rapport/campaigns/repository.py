"""Every query on campaigns and their messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import func, insert, select, update

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.campaigns import Campaign, CampaignMessage, CampaignStatus, MessageStatus


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
        """The campaign, its row locked until commit (PostgreSQL; SQLite has one writer)."""
        result = await self.session.execute(
            self.select()
            .where(Campaign.id == campaign_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        campaign: Campaign | None = result.scalar_one_or_none()
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
        sent_at: datetime | None = None,
        *,
        was: MessageStatus = MessageStatus.QUEUED,
    ) -> bool:
        """A message that is `was` (queued) becomes sent or failed; False if it was not any
        more (another run got to it first)."""
        result = await self.session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id == message_id, CampaignMessage.status == was)
            .values(status=status, reason=reason, sent_at=sent_at)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

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
