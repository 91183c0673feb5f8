"""Every query on contacts."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    Uuid,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import aliased

from rapport.companies.repository import MembershipRepository
from rapport.kit.db import UTCDateTime
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict
from rapport.kit.normalize import folded
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import ScopedRepository
from rapport.models import (
    Activity,
    ActivityModule,
    Company,
    CompanyMembership,
    Contact,
    ContactStatus,
    ContactTag,
    Event,
    LifecycleStage,
    Tag,
    Task,
    TaskStatus,
)
from rapport.models.contacts import GONE

TYPEAHEAD_CANDIDATES = 1000


def email_taken() -> AppError:
    return Conflict("A contact with this email already exists", code="CONTACT_EMAIL_EXISTS")


def external_id_taken() -> AppError:
    return Conflict(
        "A contact with this externalId already exists", code="CONTACT_EXTERNAL_ID_EXISTS"
    )


@dataclass(frozen=True)
class ContactFilters:
    search: str | None = None
    status: ContactStatus | None = None
    lifecycle_stage: LifecycleStage | None = None
    is_identified: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    company_id: uuid.UUID | None = None
    module: ActivityModule | None = None


class ContactRepository(ScopedRepository[Contact]):
    model = Contact
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Contact.created_at,
        "updatedAt": Contact.updated_at,
        "lastActivityAt": Contact.last_activity_at,
        "email": Contact.email,
        "name": Contact.name,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_contacts_tenant_email": email_taken,
        "contacts.tenant_id, contacts.email": email_taken,
        "uq_contacts_tenant_external_id": external_id_taken,
        "contacts.tenant_id, contacts.external_id": external_id_taken,
    }

    async def page(
        self, filters: ContactFilters, request: PageRequest, *, count: bool = True
    ) -> tuple[list[Contact], PageMeta]:
        return await paginate(
            self.session,
            self._filtered(filters),
            request,
            self.sort_columns,
            Contact.id,
            count=count,
        )

    def _filtered(self, f: ContactFilters) -> Select[Any]:
        stmt = self.select()
        if f.status is not None:
            stmt = stmt.where(Contact.status == f.status)
        else:
            stmt = stmt.where(Contact.status.not_in(GONE))
        if f.lifecycle_stage is not None:
            stmt = stmt.where(Contact.lifecycle_stage == f.lifecycle_stage)
        if f.is_identified is not None:
            identified = or_(Contact.email.is_not(None), Contact.external_id.is_not(None))
            stmt = stmt.where(identified if f.is_identified else ~identified)
        if f.created_from is not None:
            stmt = stmt.where(Contact.created_at >= f.created_from)
        if f.created_to is not None:
            stmt = stmt.where(Contact.created_at <= f.created_to)
        if f.company_id is not None:
            members = MembershipRepository(self.session, self.tenant_id)
            stmt = stmt.where(Contact.id.in_(members.contact_ids_in(f.company_id)))
        if f.module is not None:
            stmt = stmt.where(
                select(Activity.id)
                .where(
                    Activity.tenant_id == self.tenant_id,
                    Activity.contact_id == Contact.id,
                    Activity.module == f.module,
                )
                .exists()
            )
        if f.search:
            stmt = stmt.where(Contact.search_text.like(_substring(f.search), escape="/"))
        return stmt

    async def typeahead(self, term: str, limit: int) -> list[Contact]:
        """Live contacts whose search text contains `term`: those starting with it first, then
        those with a word starting with it, then the rest, by name within each.

        Only the first `TYPEAHEAD_CANDIDATES` matches found are ranked, so the cost stays flat
        however common the term is (sorting every match of a two-letter term is what made
        search slow at 100k contacts); a longer term narrows the matches."""
        needle = _escaped(term)
        hits = aliased(
            Contact,
            self.select()
            .where(
                Contact.status.not_in(GONE),
                Contact.search_text.like(f"%{needle}%", escape="/"),
            )
            .limit(TYPEAHEAD_CANDIDATES)
            .subquery("hits"),
        )
        rank = case(
            (hits.search_text.like(f"{needle}%", escape="/"), 0),
            (hits.search_text.like(f"% {needle}%", escape="/"), 1),
            else_=2,
        )
        stmt = select(hits).order_by(rank, hits.name.is_(None), hits.name, hits.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def live_by(self, *where: Any, exclude_id: uuid.UUID | None = None) -> Contact | None:
        """The live contact (not deleted or merged) matching `where` (email and externalId are
        unique among those)."""
        conditions = [*where, Contact.status.not_in(GONE)]
        if exclude_id is not None:
            conditions.append(Contact.id != exclude_id)
        return await self.first(*conditions)

    async def by_reference(self, column: Any, value: str) -> Contact | None:
        """By email or externalId: the live contact, else the most recently deleted one."""
        live = await self.live_by(column == value)
        if live is not None:
            return live
        stmt = self.select().where(column == value).order_by(Contact.updated_at.desc()).limit(1)
        deleted: Contact | None = (await self.session.execute(stmt)).scalars().first()
        return deleted

    async def lock(self, contact_id: uuid.UUID) -> None:
        """Serialise changes that span several rows of one contact (its primary company) until
        commit: a row lock on PostgreSQL; on SQLite, a write takes the database's write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                self.select(Contact.id).where(Contact.id == contact_id).with_for_update()
            )
        else:
            await self.session.execute(
                update(Contact)
                .where(Contact.tenant_id == self.tenant_id, Contact.id == contact_id)
                .values(updated_at=Contact.updated_at)
                .execution_options(synchronize_session=False)
            )

    async def candidates(
        self,
        *,
        email: str | None,
        phone: str | None,
        external_id: str | None,
        name: str | None,
        limit: int = 50,
    ) -> list[Contact]:
        """Live contacts sharing any of these (for the name: containing it, without regard to
        case or accents; the caller compares names exactly)."""
        matches = []
        if external_id:
            matches.append(Contact.external_id == external_id)
        if email:
            matches.append(Contact.email == email)
        if phone:
            matches.append(Contact.phone == phone)
        if name:
            matches.append(Contact.search_text.like(_substring(name), escape="/"))
        stmt = self.select().where(or_(*matches), Contact.status.not_in(GONE)).limit(limit)
        return list((await self.session.execute(stmt)).scalars())


def _escaped(term: str) -> str:
    """`term` folded as `search_text` is, its LIKE wildcards taken literally (escape `/`)."""
    return folded(term.strip()).replace("/", "//").replace("%", "/%").replace("_", "/_")


def _substring(term: str) -> str:
    """A LIKE pattern matching `term` anywhere in `search_text`; one bound value, so
    PostgreSQL plans the trigram index."""
    return f"%{_escaped(term)}%"


class MergeRepository(ScopedRepository[Contact]):
    """Moves of everything attached to one contact onto another, as set-based statements."""

    model = Contact

    def _companies_of(self, contact_id: uuid.UUID) -> Select[Any]:
        return select(CompanyMembership.company_id).where(
            CompanyMembership.tenant_id == self.tenant_id,
            CompanyMembership.contact_id == contact_id,
        )

    def shared_memberships(self, loser: uuid.UUID, winner: uuid.UUID) -> Select[Any]:
        """Subquery of the loser's memberships of companies the winner is in too: the ones a
        merge deletes instead of moving."""
        return select(CompanyMembership.id).where(
            CompanyMembership.tenant_id == self.tenant_id,
            CompanyMembership.contact_id == loser,
            CompanyMembership.company_id.in_(self._companies_of(winner)),
        )

    async def move_memberships(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        """Moves the loser's memberships to the winner, deleting those the winner has already
        (`shared_memberships`)."""
        winner_companies = self._companies_of(winner)
        winner_has_primary = await self.session.scalar(
            select(CompanyMembership.id).where(
                CompanyMembership.tenant_id == self.tenant_id,
                CompanyMembership.contact_id == winner,
                CompanyMembership.is_primary.is_(True),
            )
        )
        if winner_has_primary is not None:
            await self._update(
                CompanyMembership,
                CompanyMembership.contact_id == loser,
                is_primary=False,
            )
        moved = await self._update(
            CompanyMembership,
            and_(
                CompanyMembership.contact_id == loser,
                CompanyMembership.company_id.not_in(winner_companies),
            ),
            contact_id=winner,
        )
        await self.session.execute(
            delete(CompanyMembership).where(
                CompanyMembership.tenant_id == self.tenant_id, CompanyMembership.contact_id == loser
            )
        )
        return moved

    async def move_tags(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        on_winner = select(ContactTag.tag_id).where(
            ContactTag.tenant_id == self.tenant_id, ContactTag.contact_id == winner
        )
        copied = select(ContactTag.tenant_id, ContactTag.tag_id, ContactTag.created_at).where(
            ContactTag.tenant_id == self.tenant_id,
            ContactTag.contact_id == loser,
            ContactTag.tag_id.not_in(on_winner),
        )
        rows = (await self.session.execute(copied)).all()
        if rows:
            await self.session.execute(
                insert(ContactTag),
                [
                    {"tenant_id": t, "contact_id": winner, "tag_id": tag, "created_at": at}
                    for t, tag, at in rows
                ],
            )
        await self.session.execute(
            delete(ContactTag).where(
                ContactTag.tenant_id == self.tenant_id, ContactTag.contact_id == loser
            )
        )
        return len(rows)

    async def move_activities(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        return await self._update(Activity, Activity.contact_id == loser, contact_id=winner)

    async def move_tasks(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        return await self._update(Task, Task.contact_id == loser, contact_id=winner)

    async def _update(self, model: Any, condition: Any, **values: Any) -> int:
        result = await self.session.execute(
            update(model)
            .where(model.tenant_id == self.tenant_id, condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


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
    """Built once (building it costs more than running it on SQLite); bound to a workspace
    and a contact by the parameters `tenant_id` and `contact_id`."""
    tenant_id = bindparam("tenant_id", type_=Uuid())
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
        .where(CompanyMembership.tenant_id == tenant_id, CompanyMembership.contact_id == contact_id)
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
        .where(ContactTag.tenant_id == tenant_id, ContactTag.contact_id == contact_id)
    )
    activities = select(
        literal("activities"), null(), null(), null(), null(), null(), null(), func.count()
    ).where(Activity.tenant_id == tenant_id, Activity.contact_id == contact_id)
    open_tasks = select(
        literal("open_tasks"), null(), null(), null(), null(), null(), null(), func.count()
    ).where(
        Task.tenant_id == tenant_id,
        Task.contact_id == contact_id,
        Task.status.in_((TaskStatus.OPEN, TaskStatus.IN_PROGRESS)),
    )
    return union_all(companies, tags, activities, open_tasks)


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

    async def surroundings(self, contact_id: uuid.UUID) -> Surroundings:
        """The contact's companies, tags, activity and open task counts, in one round trip:
        `GET /contacts/{id}` is the most frequent read."""
        params = {"tenant_id": self.tenant_id, "contact_id": contact_id}
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
