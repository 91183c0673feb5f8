"""Every query on events."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.clock import utcnow
from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.events import Event, EventCursor


@dataclass(frozen=True)
class EventFilters:
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    resource_id: uuid.UUID | None = None
    resource_type: str | None = None
    actor_id: uuid.UUID | None = None


class EventRepository(Repository[Event]):
    model = Event
    sort_columns: ClassVar[dict[str, Any]] = {
        "sequence": Event.sequence,
        "occurredAt": Event.occurred_at,
    }

    async def by_id(self, event_id: uuid.UUID) -> Event | None:
        return await self.first(Event.id == event_id)

    async def page(
        self, filters: EventFilters, request: PageRequest
    ) -> tuple[list[Event], PageMeta]:
        return await paginate(
            self.session, self._filtered(filters), request, self.sort_columns, Event.id
        )

    async def about(self, contact_ids: Collection[uuid.UUID]) -> list[Event]:
        result = await self.session.execute(
            self.select().where(_about(contact_ids)).order_by(Event.sequence)
        )
        return list(result.scalars())

    def ids_about(self, contact_ids: Collection[uuid.UUID]) -> Select[Any]:
        return self.select(Event.id).where(_about(contact_ids))

    async def redact_about(self, contact_ids: Collection[uuid.UUID], data: dict[str, Any]) -> int:
        result = await self.session.execute(
            update(Event)
            .where(_about(contact_ids))
            .values(data=data)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def _filtered(self, f: EventFilters) -> Select[Any]:
        stmt = self.select()
        if f.types:
            matches = []
            for pattern in f.types:
                if pattern.endswith(".*"):
                    matches.append(Event.type.startswith(pattern[:-1], autoescape=True))
                else:
                    matches.append(Event.type == pattern)
            stmt = stmt.where(or_(*matches))
        if f.since is not None:
            stmt = stmt.where(Event.occurred_at >= f.since)
        if f.until is not None:
            stmt = stmt.where(Event.occurred_at <= f.until)
        if f.resource_id is not None:
            stmt = stmt.where(Event.resource_id == f.resource_id)
        if f.resource_type is not None:
            stmt = stmt.where(Event.resource_type == f.resource_type)
        if f.actor_id is not None:
            stmt = stmt.where(Event.actor_id == f.actor_id)
        return stmt


def _about(contact_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """Events of the contacts, and of any record that names one of them as its contact
    (activities, memberships, leads, tasks, emails): a scan of the workspace's events, as
    `data` is not indexed."""
    return or_(
        Event.resource_id.in_(contact_ids),
        Event.data["record"]["contactId"].as_string().in_([str(i) for i in contact_ids]),
    )


class EventStreamRepository:
    """Platform-wide reads of the event stream and its consumers' cursors (every workspace:
    the consumers dispatch each event to its own workspace's subscribers)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_cursor(self, name: str) -> EventCursor | None:
        """The consumer's cursor (created at its first run), held for this transaction; None
        while another process holds it. PostgreSQL: a transaction-level advisory lock on the
        name, taken without waiting. SQLite: the first write takes the database's write lock,
        which does the same."""
        values = {"name": name, "pending": [], "updated_at": utcnow()}
        if self.session.get_bind().dialect.name == "postgresql":
            locked = await self.session.scalar(
                select(func.pg_try_advisory_xact_lock(func.hashtext(f"event_cursor:{name}")))
            )
            if not locked:
                return None
            await self.session.execute(
                postgresql_insert(EventCursor)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["name"])
            )
        else:
            await self.session.execute(
                sqlite_insert(EventCursor)
                .values(**values)
                .on_conflict_do_update(index_elements=["name"], set_={"updated_at": utcnow()})
            )
        return await self.session.get(EventCursor, name, populate_existing=True)

    async def after(self, position: int | None, limit: int) -> list[Event]:
        stmt = select(Event).order_by(Event.sequence).limit(limit)
        if position is not None:
            stmt = stmt.where(Event.sequence > position)
        return list((await self.session.execute(stmt)).scalars())
