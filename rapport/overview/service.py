"""Read-only views across domains: lists filtered through relations (a company's members, a
tag, activity in a module), one contact with its surroundings, its timeline and summary."""

from __future__ import annotations

import uuid
from dataclasses import replace

from rapport.activities.schemas import ActivityOut
from rapport.activities.service import ActivityService
from rapport.companies.filters import CompanyFilters
from rapport.companies.service import CompanyService, MembershipService
from rapport.contacts.filters import ContactFilters
from rapport.contacts.service import ContactService
from rapport.events.schemas import EventOut
from rapport.kit.context import Context
from rapport.kit.cql.query import where_condition
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound, query_error
from rapport.kit.etag import etag_for
from rapport.kit.ids import parse_uuid
from rapport.kit.pagination import PageRequest
from rapport.models.activities import ActivityModule
from rapport.models.companies import Company
from rapport.models.contacts import Contact
from rapport.overview.repository import ContactAround, OverviewRepository
from rapport.overview.schemas import ContactDetail, ContactSummary, TimelineItem
from rapport.tags.service import TaggingService


class Overview:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.contacts = ContactService(context)
        self.repo = OverviewRepository(context.session)

    async def contacts_page(
        self,
        filters: ContactFilters,
        page: PageRequest,
        *,
        company_id: uuid.UUID | None = None,
        module: ActivityModule | None = None,
        tag: str | None = None,
        where: str | None = None,
    ) -> tuple[list[Contact], PageMeta]:
        """Contacts by their own fields, and by their relations: members of a company, with
        an activity logged in a module, carrying a tag (each relation's domain builds its
        subquery), meeting a condition in the query language."""
        within = list(filters.within)
        if company_id is not None:
            within.append(MembershipService(self.context).contact_ids_in(company_id))
        if module is not None:
            within.append(ActivityService(self.context).contact_ids_active_in(module))
        if tag is not None:
            within.append(TaggingService.of_contacts(self.context).record_ids_tagged(tag))
        if where is not None:
            matching = await where_condition(self.context, self.contacts.query_catalog(), where)
            filters = replace(filters, matching=matching)
        return await self.contacts.page(replace(filters, within=tuple(within)), page)

    async def companies_page(
        self,
        filters: CompanyFilters,
        page: PageRequest,
        *,
        tag: str | None = None,
        where: str | None = None,
    ) -> tuple[list[Company], PageMeta]:
        """Companies by their own fields, carrying a tag, meeting a condition in the query
        language."""
        companies = CompanyService(self.context)
        if tag is not None:
            tagged = TaggingService.of_companies(self.context).record_ids_tagged(tag)
            filters = replace(filters, within=(*filters.within, tagged))
        if where is not None:
            matching = await where_condition(self.context, companies.query_catalog(), where)
            filters = replace(filters, matching=matching)
        return await companies.page(filters, page)

    async def timeline(self, ref: str, page: PageRequest) -> tuple[list[TimelineItem], PageMeta]:
        """Every activity (notes included) and change event of the contact, and of contacts
        merged into it, newest first (or oldest first with sortOrder=asc)."""
        contact = await self.contacts.get(ref)
        ids = [contact.id, *await self.repo.merged_into(contact.id)]
        return await self.records_timeline("contact", ids, page)

    async def records_timeline(
        self, link: str, record_ids: list[uuid.UUID], page: PageRequest
    ) -> tuple[list[TimelineItem], PageMeta]:
        """The activities linked to these records (`link`: contact or lead) and the events
        about them, newest first (or oldest first with sortOrder=asc)."""
        if page.cursor is not None:
            raise query_error("cursor", "The timeline pages by offset (page/limit or skip/take)")
        entries, total = await self.repo.timeline(
            link, record_ids, page.skip, page.take, page.sort.descending
        )
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

    async def detail(self, ref: str) -> tuple[str, ContactDetail]:
        """The contact as `GET /contacts/{ref}` shows it, with companies, tags and activity
        count, and its ETag."""
        around = await self._around(ref)
        detail = ContactDetail.model_validate(
            {
                **around.record,
                "companies": around.companies,
                "tags": around.tags,
                "activity_count": around.activity_count,
            }
        )
        return etag_for(around.record["id"], around.version), detail

    async def summary(self, ref: str) -> ContactSummary:
        around = await self._around(ref)
        return ContactSummary.model_validate(
            {
                **around.record,
                "companies": around.companies,
                "tags": [tag["key"] for tag in around.tags],
                "activity_count": around.activity_count,
                "open_task_count": around.open_task_count,
            }
        )

    async def _around(self, ref: str) -> ContactAround:
        """The contact `ref` names, with its surroundings: one statement when `ref` is the id
        of a contact not merged away (most reads); otherwise the contacts service resolves
        the reference first (email, externalId, the contact it was merged into)."""
        record_id = parse_uuid(ref)
        around = await self.repo.contact_around(record_id) if record_id is not None else None
        if around is None or around.record["merged_into_id"] is not None:
            contact = await self.contacts.get(ref)
            around = await self.repo.contact_around(contact.id)
        if around is None:
            raise NotFound("Contact not found")
        return around
