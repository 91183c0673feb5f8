"""Every query on webhooks, deliveries and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.events import Event
from rapport.models.webhooks import (
    UNFINISHED,
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)


class WebhookRepository(Repository[Webhook]):
    model = Webhook
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Webhook.created_at,
        "updatedAt": Webhook.updated_at,
        "url": Webhook.url,
    }

    async def page(
        self, active: bool | None, request: PageRequest
    ) -> tuple[list[Webhook], PageMeta]:
        stmt = self.select()
        if active is not None:
            stmt = stmt.where(Webhook.active.is_(active))
        return await paginate(self.session, stmt, request, self.sort_columns, Webhook.id)

    async def hold(self, webhook_id: uuid.UUID) -> None:
        """Share-lock the webhook's row until commit, which waits for a dispatch adding
        deliveries to it (PostgreSQL; on SQLite a transaction that has written already holds
        the database's write lock)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                self.select(Webhook.id).where(Webhook.id == webhook_id).with_for_update(read=True)
            )


@dataclass(frozen=True)
class DeliveryFilters:
    status: DeliveryStatus | None = None
    event_type: str | None = None
    event_id: uuid.UUID | None = None


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": WebhookDelivery.created_at,
        "updatedAt": WebhookDelivery.updated_at,
    }

    async def page(
        self, webhook_id: uuid.UUID, filters: DeliveryFilters, request: PageRequest
    ) -> tuple[list[WebhookDelivery], PageMeta]:
        stmt = self.select().where(WebhookDelivery.webhook_id == webhook_id)
        if filters.status is not None:
            stmt = stmt.where(WebhookDelivery.status == filters.status)
        if filters.event_type is not None:
            stmt = stmt.where(WebhookDelivery.event_type == filters.event_type)
        if filters.event_id is not None:
            stmt = stmt.where(WebhookDelivery.event_id == filters.event_id)
        return await paginate(self.session, stmt, request, self.sort_columns, WebhookDelivery.id)

    async def to_send(
        self, delivery_id: uuid.UUID
    ) -> tuple[WebhookDelivery, Webhook, Event | None] | None:
        """A delivery with its webhook and its event (None if the event was purged)."""
        result = await self.session.execute(
            self.select(WebhookDelivery, Webhook, Event)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .outerjoin(
                Event,
                Event.id == WebhookDelivery.event_id,
            )
            .where(WebhookDelivery.id == delivery_id)
        )
        row = result.first()
        return None if row is None else (row[0], row[1], row[2])

    async def of_webhook(
        self, webhook_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None:
        return await self.first(
            WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id
        )

    async def next_waiting(self, delivery: WebhookDelivery) -> WebhookDelivery | None:
        """The delivery of the same record to the same webhook that waits its turn next."""
        result = await self.session.execute(
            self.select()
            .where(
                WebhookDelivery.webhook_id == delivery.webhook_id,
                WebhookDelivery.resource_id == delivery.resource_id,
                WebhookDelivery.status == DeliveryStatus.WAITING,
            )
            .order_by(WebhookDelivery.event_sequence)
            .limit(1)
        )
        successor: WebhookDelivery | None = result.scalars().first()
        return successor

    async def of_events(self, event_ids: Select[Any]) -> list[WebhookDelivery]:
        result = await self.session.execute(
            self.select()
            .where(WebhookDelivery.event_id.in_(event_ids))
            .order_by(WebhookDelivery.event_sequence, WebhookDelivery.id)
        )
        return list(result.scalars())

    def ids_of_events(self, event_ids: Select[Any]) -> Select[Any]:
        return self.select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(event_ids))

    async def count_of_events(self, event_ids: Select[Any]) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_(event_ids))
        )
        return int(count or 0)


class AttemptRepository(Repository[WebhookAttempt]):
    model = WebhookAttempt

    async def forget_answers(self, delivery_ids: Select[Any]) -> None:
        await self.session.execute(
            update(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .values(response_body=None)
            .execution_options(synchronize_session=False)
        )

    async def of_delivery(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        result = await self.session.execute(
            self.select()
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.number)
        )
        return list(result.scalars())


class DispatchRepository:
    """Platform-wide queries of the dispatcher, which turns events of every workspace into
    deliveries (each row it writes carries the workspace of the event it came from), and of
    the housekeeping of delivery logs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_webhooks(self, tenant_ids: Collection[uuid.UUID]) -> list[Webhook]:
        """Active webhooks of these workspaces, locked (in id order) on PostgreSQL until the
        dispatch commits: a delivery finishing meanwhile then sees the deliveries created
        behind it (it updates its webhook before it looks for them)."""
        stmt = (
            select(Webhook)
            .where(Webhook.tenant_id.in_(tenant_ids), Webhook.active.is_(True))
            .order_by(Webhook.id)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return list((await self.session.execute(stmt)).scalars())

    async def unfinished_chains(
        self, webhook_ids: Collection[uuid.UUID], resource_ids: Collection[uuid.UUID]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """(webhook, record) pairs that already have a delivery in flight or waiting."""
        result = await self.session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.resource_id)
            .where(
                WebhookDelivery.webhook_id.in_(webhook_ids),
                WebhookDelivery.resource_id.in_(resource_ids),
                WebhookDelivery.status.in_(UNFINISHED),
                WebhookDelivery.replay_of.is_(None),
            )
            .distinct()
        )
        return {(webhook_id, resource_id) for webhook_id, resource_id in result.all()}

    async def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        await self.session.execute(insert(WebhookDelivery), list(rows))

    async def delete_finished_before(self, moment: datetime) -> None:
        await self.session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.status.not_in(UNFINISHED), WebhookDelivery.finished_at < moment
            )
        )
