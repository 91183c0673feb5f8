"""Read-only views of one contact across domains: its timeline and its one-view summary."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.activities.schemas import ActivityOut
from rapport.contacts.schemas import ContactSummary, SummaryCompany, TimelineItem
from rapport.contacts.service import ContactService
from rapport.events.schemas import EventOut
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import InvalidRequest
from rapport.kit.pagination import PageRequest
from rapport.kit.repository import ScopedRepository
from rapport.models import (
    Activity,
    Company,
    CompanyMembership,
    Contact,
    ContactTag,
    Event,
    Tag,
    Task,
    TaskStatus,
)

MERGED_LIMIT = 1000


class OverviewRepository(ScopedRepository[Contact]):
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
            ).where(Activity.tenant_id == self.tenant_id, Activity.contact_id.in_(contact_ids)),
            select(
                literal("event").label("kind"), Event.id.label("id"), Event.occurred_at.label("at")
            ).where(Event.tenant_id == self.tenant_id, Event.resource_id.in_(contact_ids)),
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
        result = await self.session.execute(
            select(Activity).where(Activity.tenant_id == self.tenant_id, Activity.id.in_(ids))
        )
        return {a.id: a for a in result.scalars()}

    async def events(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Event]:
        result = await self.session.execute(
            select(Event).where(Event.tenant_id == self.tenant_id, Event.id.in_(ids))
        )
        return {e.id: e for e in result.scalars()}

    async def companies_of(self, contact_id: uuid.UUID) -> list[tuple[Company, CompanyMembership]]:
        result = await self.session.execute(
            select(Company, CompanyMembership)
            .join(CompanyMembership, CompanyMembership.company_id == Company.id)
            .where(
                CompanyMembership.tenant_id == self.tenant_id,
                CompanyMembership.contact_id == contact_id,
            )
            .order_by(CompanyMembership.is_primary.desc(), Company.name)
        )
        return [(company, membership) for company, membership in result.all()]

    async def tag_keys(self, contact_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(Tag.key)
            .join(ContactTag, ContactTag.tag_id == Tag.id)
            .where(ContactTag.tenant_id == self.tenant_id, ContactTag.contact_id == contact_id)
            .order_by(ContactTag.created_at)
        )
        return list(result.scalars())

    async def counts(self, contact_id: uuid.UUID) -> tuple[int, int]:
        """Activities, and open (or in progress) tasks of the contact."""
        activities = await self.session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.tenant_id == self.tenant_id, Activity.contact_id == contact_id)
        )
        tasks = await self.session.scalar(
            select(func.count())
            .select_from(Task)
            .where(
                Task.tenant_id == self.tenant_id,
                Task.contact_id == contact_id,
                Task.status.in_((TaskStatus.OPEN, TaskStatus.IN_PROGRESS)),
            )
        )
        return int(activities or 0), int(tasks or 0)


class ContactOverview:
    def __init__(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        tenant_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.contacts = ContactService(session, tenant_id, tenant_settings)
        self.repo = OverviewRepository(session, tenant_id)

    async def timeline(self, ref: str, page: PageRequest) -> tuple[list[TimelineItem], PageMeta]:
        """Every activity (notes included) and change event of the contact, and of contacts
        merged into it, newest first (or oldest first with sortOrder=asc)."""
        if page.cursor is not None:
            raise InvalidRequest("The timeline pages by offset (page/limit or skip/take)")
        contact = await self.contacts.get(ref)
        ids = [contact.id, *await self.repo.merged_into(contact.id)]
        entries, total = await self.repo.timeline(ids, page.skip, page.take, page.sort.descending)
        activities = await self.repo.activities([i for k, i in entries if k == "activity"])
        events = await self.repo.events([i for k, i in entries if k == "event"])
        items = []
        for kind, record_id in entries:
            if kind == "activity":
                activity = activities[record_id]
                items.append(
                    TimelineItem(
                        kind=kind,
                        occurred_at=activity.occurred_at,
                        activity=ActivityOut.of(activity),
                    )
                )
            else:
                event = events[record_id]
                items.append(
                    TimelineItem(kind=kind, occurred_at=event.occurred_at, event=EventOut.of(event))
                )
        meta = PageMeta(
            total=total,
            skip=page.skip,
            take=page.take,
            page=page.skip // page.take + 1,
            total_pages=-(-total // page.take),
            has_more=page.skip + len(items) < total,
        )
        return items, meta

    async def summary(self, ref: str) -> ContactSummary:
        contact = await self.contacts.get(ref)
        activity_count, open_tasks = await self.repo.counts(contact.id)
        return ContactSummary(
            id=contact.id,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            status=contact.status,
            lifecycle_stage=contact.lifecycle_stage,
            companies=[
                SummaryCompany(
                    id=company.id,
                    name=company.name,
                    domain=company.domain,
                    role=membership.role,
                    is_primary=membership.is_primary,
                )
                for company, membership in await self.repo.companies_of(contact.id)
            ],
            tags=await self.repo.tag_keys(contact.id),
            activity_count=activity_count,
            open_task_count=open_tasks,
            last_activity_at=contact.last_activity_at,
        )
