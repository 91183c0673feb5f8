"""Every query on activities."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, func, select, union_all, update

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.activities import Activity, ActivityModule, ActivityType


@dataclass(frozen=True)
class ActivityFilters:
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    types: tuple[ActivityType, ...] = ()
    module: ActivityModule | None = None
    since: datetime | None = None
    until: datetime | None = None


class ActivityRepository(Repository[Activity]):
    model = Activity
    sort_columns: ClassVar[dict[str, Any]] = {
        "occurredAt": Activity.occurred_at,
        "createdAt": Activity.created_at,
    }

    async def page(
        self, filters: ActivityFilters, request: PageRequest
    ) -> tuple[list[Activity], PageMeta]:
        return await paginate(
            self.session, self._filtered(filters), request, self.sort_columns, Activity.id
        )

    def _filtered(self, f: ActivityFilters) -> Select[Any]:
        stmt = self.select()
        if f.contact_id is not None:
            stmt = stmt.where(Activity.contact_id == f.contact_id)
        if f.company_id is not None:
            stmt = stmt.where(Activity.company_id == f.company_id)
        if f.lead_id is not None:
            stmt = stmt.where(Activity.lead_id == f.lead_id)
        if f.types:
            stmt = stmt.where(Activity.type.in_(f.types))
        if f.module is not None:
            stmt = stmt.where(Activity.module == f.module)
        if f.since is not None:
            stmt = stmt.where(Activity.occurred_at >= f.since)
        if f.until is not None:
            stmt = stmt.where(Activity.occurred_at <= f.until)
        return stmt

    async def of_contact(
        self, contact_id: uuid.UUID, activity_id: uuid.UUID, note: bool = False
    ) -> Activity | None:
        conditions = [Activity.id == activity_id, Activity.contact_id == contact_id]
        if note:
            conditions.append(Activity.type == ActivityType.NOTE)
        return await self.first(*conditions)

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[Activity]:
        result = await self.session.execute(
            self.select()
            .where(Activity.contact_id.in_(contact_ids))
            .order_by(Activity.occurred_at, Activity.id)
        )
        return list(result.scalars())

    async def redact_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> int:
        """Clear the text, properties and contact of the contacts' activities; how many."""
        result = await self.session.execute(
            update(Activity)
            .where(Activity.contact_id.in_(contact_ids))
            .values(subject=None, content=None, properties={}, contact_id=None)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def contact_ids_in(self, module: ActivityModule) -> Select[Any]:
        return self.select(Activity.contact_id).where(
            Activity.module == module, Activity.contact_id.is_not(None)
        )

    async def count_by_type_logged_by(
        self, user_id: uuid.UUID, api_key_ids: Select[Any], start: datetime, end: datetime
    ) -> dict[ActivityType, int]:
        # Two ranges of ix_activities_actor, one per way of logging (a union, not an OR,
        # which would filter every activity of the period instead).
        in_period = Activity.occurred_at.between(start, end)
        logged = union_all(
            select(Activity.type).where(
                Activity.actor_type == "user", Activity.actor_id == user_id, in_period
            ),
            select(Activity.type).where(
                Activity.actor_type == "api_key", Activity.actor_id.in_(api_key_ids), in_period
            ),
        ).subquery()
        result = await self.session.execute(
            select(logged.c.type, func.count()).group_by(logged.c.type)
        )
        return {ActivityType(kind): count for kind, count in result.all()}
