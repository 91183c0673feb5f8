"""The reads behind the views of one contact: its companies, tags, activity and task counts,
and the activities and change events of its timeline."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Uuid,
    bindparam,
    func,
    literal,
    null,
    select,
    union_all,
)

from rapport.kit.db import UTCDateTime
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import prepared
from rapport.models.activities import Activity
from rapport.models.companies import Company, CompanyMembership
from rapport.models.contacts import Contact
from rapport.models.events import Event
from rapport.models.tags import ContactTag, Tag
from rapport.models.todos import Task, TaskStatus

MERGED_LIMIT = 1000


@dataclass(frozen=True)
class LinkedCompany:
    id: uuid.UUID
    name: str
    domain: str | None
    role: str | None
    is_primary: bool


@dataclass(frozen=True)
class LinkedTag:
    id: uuid.UUID
    key: str
    name: str
    color: str | None


@dataclass(frozen=True)
class Surroundings:
    """What a view of one contact shows beside the record."""

    companies: list[LinkedCompany]
    tags: list[LinkedTag]
    activity_count: int
    open_task_count: int


@functools.cache
def _surroundings() -> CompoundSelect[Any]:
    """Built once (building it costs more than running it on SQLite); bound to a contact by
    the parameter `contact_id` (and to the workspace by the session's guard)."""
    contact_id = bindparam("contact_id", type_=Uuid())
    companies = (
        select(
            literal("company").label("kind"),
            Company.id,
            Company.name.label("label"),
            Company.domain.label("detail"),
            CompanyMembership.role.label("extra"),
            CompanyMembership.is_primary.label("flag"),
            null().cast(UTCDateTime()).label("at"),
            null().cast(Integer).label("n"),
        )
        .join(CompanyMembership, CompanyMembership.company_id == Company.id)
        .where(CompanyMembership.contact_id == contact_id)
    )
    tags = (
        select(
            literal("tag"),
            Tag.id,
            Tag.key,
            Tag.name,
            Tag.color,
            null(),
            ContactTag.created_at,
            null(),
        )
        .join(ContactTag, ContactTag.tag_id == Tag.id)
        .where(ContactTag.contact_id == contact_id)
    )
    activities = select(
        literal("activities"), null(), null(), null(), null(), null(), null(), func.count()
    ).where(Activity.contact_id == contact_id)
    open_tasks = select(
        literal("open_tasks"), null(), null(), null(), null(), null(), null(), func.count()
    ).where(
        Task.contact_id == contact_id,
        Task.status.in_((TaskStatus.OPEN, TaskStatus.IN_PROGRESS)),
    )
    return prepared(union_all(companies, tags, activities, open_tasks))


class OverviewRepository(Repository[Contact]):
    model = Contact

    async def merged_into(self, contact_id: uuid.UUID) -> list[uuid.UUID]:
        """The contacts merged into this one, directly or through others."""
        found: list[uuid.UUID] = []
        frontier = [contact_id]
        while frontier and len(found) < MERGED_LIMIT:
            result = await self.session.execute(
                self.select(Contact.id).where(Contact.merged_into_id.in_(frontier))
            )
            frontier = [i for i in result.scalars() if i not in found]
            found += frontier
        return found

    async def timeline(
        self, contact_ids: list[uuid.UUID], skip: int, take: int, newest_first: bool
    ) -> tuple[list[tuple[str, uuid.UUID]], int]:
        """(kind, id) of the activities and change events of these contacts, in time order,
        and how many there are."""
        entries = union_all(
            select(
                literal("activity").label("kind"),
                Activity.id.label("id"),
                Activity.occurred_at.label("at"),
            ).where(Activity.contact_id.in_(contact_ids)),
            select(
                literal("event").label("kind"), Event.id.label("id"), Event.occurred_at.label("at")
            ).where(Event.resource_id.in_(contact_ids)),
        ).subquery()
        rows = await self.session.execute(
            select(entries.c.kind, entries.c.id)
            .order_by(
                *(
                    (entries.c.at.desc(), entries.c.id.desc())
                    if newest_first
                    else (entries.c.at.asc(), entries.c.id.asc())
                )
            )
            .offset(skip)
            .limit(take)
        )
        total = await self.session.scalar(select(func.count()).select_from(entries))
        return [(kind, record_id) for kind, record_id in rows.all()], int(total or 0)

    async def activities(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Activity]:
        result = await self.session.execute(select(Activity).where(Activity.id.in_(ids)))
        return {a.id: a for a in result.scalars()}

    async def events(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Event]:
        result = await self.session.execute(select(Event).where(Event.id.in_(ids)))
        return {e.id: e for e in result.scalars()}

    async def surroundings(self, contact_id: uuid.UUID) -> Surroundings:
        """The contact's companies, tags, activity and open task counts, in one round trip:
        `GET /contacts/{id}` is the most frequent read."""
        params = {"contact_id": contact_id}
        rows: list[Any] = list((await self.session.execute(_surroundings(), params)).all())
        counts = {row.kind: int(row.n) for row in rows if row.n is not None}
        linked_companies = sorted(
            (
                LinkedCompany(r.id, r.label, r.detail, r.extra, bool(r.flag))
                for r in rows
                if r.kind == "company"
            ),
            key=lambda c: (not c.is_primary, c.name, c.id),
        )
        tag_rows = sorted((r for r in rows if r.kind == "tag"), key=lambda r: (r.at, r.id))
        return Surroundings(
            companies=linked_companies,
            tags=[LinkedTag(r.id, r.label, r.detail, r.extra) for r in tag_rows],
            activity_count=counts.get("activities", 0),
            open_task_count=counts.get("open_tasks", 0),
        )
