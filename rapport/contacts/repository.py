"""Every query on contacts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, or_, update

from rapport.companies.repository import MembershipRepository
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict
from rapport.kit.normalize import folded
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import ScopedRepository
from rapport.models import Contact, ContactStatus, LifecycleStage
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
