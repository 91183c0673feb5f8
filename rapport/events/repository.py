"""Every query on events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, or_

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import ScopedRepository
from rapport.models import Event


@dataclass(frozen=True)
class EventFilters:
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    resource_id: uuid.UUID | None = None
    resource_type: str | None = None
    actor_id: uuid.UUID | None = None


class EventRepository(ScopedRepository[Event]):
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
