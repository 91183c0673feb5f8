"""The reads behind the views of one contact: its companies, tags, activity and task counts,
and the activities and change events of its timeline."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    Uuid,
    bindparam,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)

from rapport.contacts.schemas import ContactOut
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import prepared, run_prepared
from rapport.models.activities import Activity
from rapport.models.companies import Company, CompanyMembership
from rapport.models.contacts import Contact
from rapport.models.events import Event
from rapport.models.tags import ContactTag, Tag
from rapport.models.todos import Task, TaskStatus

MERGED_LIMIT = 1000


@dataclass(frozen=True)
class ContactAround:
    """A contact's own fields and what views of it show beside them."""

    record: dict[str, Any]
    version: int
    companies: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    activity_count: int
    open_task_count: int


# The record's own fields are those the API answers with (`ContactOut`), each a column or
# expression of `Contact`.
_RECORD_FIELDS = tuple(ContactOut.model_fields)


@functools.cache
def _contact_around(dialect: str) -> Select[Any]:
    """One statement for a contact and its surroundings, the companies and tags as JSON arrays
    built by the database; built once per dialect (building costs more than running it on
    SQLite), bound to a contact by the parameter `contact_id` and to the workspace by the
    guard it carries."""
    postgres = dialect == "postgresql"
    json_object = func.json_build_object if postgres else func.json_object
    json_array = func.json_agg if postgres else func.json_group_array

    def listed(fields: dict[str, Any], order: tuple[Any, ...], source: Select[Any]) -> Any:
        """The rows of `source` as a JSON array of objects, in `order` (SQLite 3.40 has no
        ORDER BY inside an aggregate; as a window over all the rows, both databases keep the
        order)."""
        pairs = [part for key, value in fields.items() for part in (key, value)]
        array = json_array(json_object(*pairs)).over(order_by=order, rows=(None, None))
        return source.with_only_columns(array).limit(1).scalar_subquery()

    companies = listed(
        {
            "id": Company.id,
            "name": Company.name,
            "domain": Company.domain,
            "role": CompanyMembership.role,
            "is_primary": CompanyMembership.is_primary,
        },
        (CompanyMembership.is_primary.desc(), Company.name, Company.id),
        select(Company.id)
        .join(CompanyMembership, CompanyMembership.company_id == Company.id)
        .where(CompanyMembership.contact_id == Contact.id),
    )
    tags = listed(
        {"id": Tag.id, "key": Tag.key, "name": Tag.name, "color": Tag.color},
        (ContactTag.created_at, Tag.id),
        select(Tag.id)
        .join(ContactTag, ContactTag.tag_id == Tag.id)
        .where(ContactTag.contact_id == Contact.id),
    )
    activities = select(func.count()).where(Activity.contact_id == Contact.id).scalar_subquery()
    open_tasks = (
        select(func.count())
        .where(
            Task.contact_id == Contact.id,
            Task.status.in_((TaskStatus.OPEN, TaskStatus.IN_PROGRESS)),
        )
        .scalar_subquery()
    )
    return prepared(
        select(
            *(getattr(Contact, field).label(field) for field in _RECORD_FIELDS),
            Contact.version,
            type_coerce(companies, JSON()).label("companies"),
            type_coerce(tags, JSON()).label("tags"),
            activities.label("activity_count"),
            open_tasks.label("open_task_count"),
        ).where(Contact.id == bindparam("contact_id", type_=Uuid()))
    )


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
        self, link: str, record_ids: list[uuid.UUID], skip: int, take: int, newest_first: bool
    ) -> tuple[list[tuple[str, uuid.UUID]], int]:
        """(kind, id) of the activities linked to these records (`link`: contact or lead) and
        of the events about them, in time order, and how many there are."""
        linked = Activity.contact_id if link == "contact" else Activity.lead_id
        entries = union_all(
            select(
                literal("activity").label("kind"),
                Activity.id.label("id"),
                Activity.occurred_at.label("at"),
            ).where(linked.in_(record_ids)),
            select(
                literal("event").label("kind"), Event.id.label("id"), Event.occurred_at.label("at")
            ).where(Event.resource_id.in_(record_ids)),
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

    async def contact_around(self, contact_id: uuid.UUID) -> ContactAround | None:
        """The contact with its companies (primary first, then by name), tags (in the order
        they were given), activity and open task counts, in one statement: `GET
        /contacts/{id}` is the most frequent read."""
        dialect = self.session.get_bind().dialect.name
        result = await run_prepared(
            self.session, _contact_around(dialect), {"contact_id": contact_id}
        )
        row = result.one_or_none()
        if row is None:
            return None
        values = row._mapping
        return ContactAround(
            record={field: values[field] for field in _RECORD_FIELDS},
            version=row.version,
            companies=row.companies or [],
            tags=row.tags or [],
            activity_count=row.activity_count,
            open_task_count=row.open_task_count,
        )
