"""Every query on contacts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, and_, delete, func, insert, literal, or_, select, union_all, update

from rapport.companies.repository import MembershipRepository
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict
from rapport.kit.normalize import folded
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import ScopedRepository
from rapport.models import (
    Activity,
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
        if f.search:
            stmt = stmt.where(Contact.search_text.like(_substring(f.search), escape="/"))
        return stmt

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


def _substring(term: str) -> str:
    """A LIKE pattern matching `term` anywhere in `search_text` (folded the same way), its
    wildcards taken literally; one bound value, so PostgreSQL plans the trigram index."""
    escaped = folded(term.strip()).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


class MergeRepository(ScopedRepository[Contact]):
    """Moves of everything attached to one contact onto another, as set-based statements."""

    model = Contact

    async def move_memberships(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        winner_companies = select(CompanyMembership.company_id).where(
            CompanyMembership.tenant_id == self.tenant_id, CompanyMembership.contact_id == winner
        )
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
