"""Every query on contacts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BindParameter,
    Select,
    String,
    Text,
    bindparam,
    case,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from rapport.contacts.filters import ContactFilters
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, taken
from rapport.kit.normalize import folded
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import platform_wide, workspace_of
from rapport.models.contacts import GONE, Contact, LiveCount

TYPEAHEAD_CANDIDATES = 1000


def email_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "A contact with this email already exists", "CONTACT_EMAIL_EXISTS", "email", existing_id
    )


def external_id_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "A contact with this externalId already exists",
        "CONTACT_EXTERNAL_ID_EXISTS",
        "externalId",
        existing_id,
    )


# Written into the SQL as literals, not bound: a planner can only use the partial unique
# indexes (`WHERE status NOT IN ('DELETED', 'MERGED')`) when the query's condition visibly
# implies theirs; with bound values SQLite walks the workspace instead.
_LIVE = Contact.status.not_in(
    bindparam("gone", [status.value for status in GONE], expanding=True, literal_execute=True)
)


_LIVE_TOTAL = select(func.sum(LiveCount.live)).where(LiveCount.entity == "contact")


class ContactRepository(Repository[Contact]):
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
            # Every live contact: the count the database keeps, not a scan of the workspace.
            total_query=_LIVE_TOTAL if _unfiltered(filters) else None,
        )

    def _filtered(self, f: ContactFilters) -> Select[Any]:
        stmt = self.select().where(Contact.status == f.status if f.status is not None else _LIVE)
        if f.lifecycle_stage is not None:
            stmt = stmt.where(Contact.lifecycle_stage == f.lifecycle_stage)
        if f.is_identified is not None:
            identified = Contact.is_identified
            stmt = stmt.where(identified if f.is_identified else ~identified)
        if f.created_from is not None:
            stmt = stmt.where(Contact.created_at >= f.created_from)
        if f.created_to is not None:
            stmt = stmt.where(Contact.created_at <= f.created_to)
        if f.email is not None:
            stmt = stmt.where(Contact.email == f.email)
        if f.external_id is not None:
            stmt = stmt.where(Contact.external_id == f.external_id)
        if f.owner_user_id is not None:
            stmt = stmt.where(Contact.owner_user_id == f.owner_user_id)
        if f.unassigned:
            stmt = stmt.where(Contact.owner_user_id.is_(None))
        for ids in f.within:
            stmt = stmt.where(Contact.id.in_(ids))
        if f.matching is not None:
            stmt = stmt.where(f.matching)
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
                _LIVE,
                Contact.search_text.like(_pattern(f"%{needle}%"), escape="/"),
            )
            .limit(TYPEAHEAD_CANDIDATES)
            .subquery("hits"),
        )
        rank = case(
            (hits.search_text.like(_pattern(f"{needle}%"), escape="/"), 0),
            (hits.search_text.like(_pattern(f"% {needle}%"), escape="/"), 1),
            else_=2,
        )
        stmt = select(hits).order_by(rank, hits.name.is_(None), hits.name, hits.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def live_by(self, *where: Any) -> Contact | None:
        """The live contact (not deleted or merged) matching `where` (email and externalId are
        unique among those)."""
        return await self.first(*where, _LIVE)

    async def live_holder(
        self, *where: Any, exclude_id: uuid.UUID | None = None
    ) -> uuid.UUID | None:
        """The id of the live contact matching `where`, other than `exclude_id` (a uniqueness
        check: the id alone, without loading the record)."""
        stmt = self.select(Contact.id).where(*where, _LIVE).limit(1)
        if exclude_id is not None:
            stmt = stmt.where(Contact.id != exclude_id)
        holder: uuid.UUID | None = await self.session.scalar(stmt)
        return holder

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
                .where(Contact.id == contact_id)
                .values(updated_at=Contact.updated_at)
                .execution_options(synchronize_session=False)
            )

    async def serialize_identities(self, identities: Collection[str]) -> None:
        """Make writes naming the same identities (an email, an externalId) wait for each other
        until commit, so that each finds what the one before it created: a transaction-scoped
        advisory lock per identity on PostgreSQL, taken in one statement and always in the same
        order (so that two writers never wait for each other in a cycle); on SQLite, the
        database's write lock (a write that changes nothing takes it)."""
        if self.session.get_bind().dialect.name == "postgresql":
            if not identities:
                return
            tenant = workspace_of(self.session)
            keys = [f"contact-identity:{tenant}:{identity}" for identity in sorted(identities)]
            given = (
                func.unnest(bindparam("keys", keys, type_=ARRAY(Text)))
                .table_valued("key", with_ordinality="position")
                .render_derived("given")
            )
            # A volatile function in the select list runs after the sort, in its order.
            lock = select(func.pg_advisory_xact_lock(func.hashtextextended(given.c.key, 0)))
            lock = lock.order_by(given.c.position)
            await self.session.execute(platform_wide(lock, "locks on keys, no table"))
        else:
            await self.session.execute(
                update(Contact).where(false()).execution_options(synchronize_session=False)
            )

    async def live_with_identities(
        self, emails: Collection[str], external_ids: Collection[str]
    ) -> list[Contact]:
        """The live contacts holding any of these emails or externalIds, locked until commit
        (in id order, so that two writers lock them in the same order)."""
        found: dict[uuid.UUID, Contact] = {}
        for column, values in ((Contact.email, emails), (Contact.external_id, external_ids)):
            if values:
                stmt = self.select().where(column.in_(sorted(values)), _LIVE).order_by(Contact.id)
                result = await self.session.execute(stmt.with_for_update())
                found.update((contact.id, contact) for contact in result.scalars())
        return list(found.values())

    async def by_ids(self, contact_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        result = await self.session.execute(self.select().where(Contact.id.in_(contact_ids)))
        return {contact.id: contact for contact in result.scalars()}

    def ids_where(self, *where: Any) -> Select[Any]:
        return self.select(Contact.id).where(*where)

    def live_ids_where(self, *where: Any) -> Select[Any]:
        return self.select(Contact.id).where(_LIVE, *where)

    async def live_ids(self, *where: Any) -> list[uuid.UUID]:
        """The ids of the live contacts meeting the conditions, in id order."""
        result = await self.session.scalars(self.live_ids_where(*where).order_by(Contact.id))
        return list(result)

    def live_rows_where(self, columns: Sequence[Any], *where: Any) -> Select[Any]:
        """These columns of the live contacts meeting the conditions, in id order."""
        return self.select(*columns).select_from(Contact).where(_LIVE, *where).order_by(Contact.id)

    async def touch_activity(self, contact_id: uuid.UUID, moment: datetime) -> None:
        """Move the contact's lastActivityAt forward (never back). A plain UPDATE: it is not
        an edit of the contact, so its version (ETag) stays."""
        await self.session.execute(
            update(Contact)
            .where(
                Contact.id == contact_id,
                or_(Contact.last_activity_at.is_(None), Contact.last_activity_at < moment),
            )
            .values(last_activity_at=moment, updated_at=Contact.updated_at)
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
        stmt = self.select().where(or_(*matches), _LIVE).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def merged_into(self, contact_ids: Collection[uuid.UUID]) -> list[Contact]:
        """The contacts merged into any of these."""
        result = await self.session.execute(
            self.select().where(Contact.merged_into_id.in_(contact_ids)).order_by(Contact.id)
        )
        return list(result.scalars())

    async def delete_for_good(self, contact_ids: Collection[uuid.UUID]) -> int:
        """Delete the rows (the live-count triggers follow); how many there were."""
        result = await self.session.execute(
            delete(Contact)
            .where(Contact.id.in_(contact_ids))
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def count_live_created_between(self, start: datetime, end: datetime) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(_LIVE, Contact.created_at.between(start, end))
        )
        return int(count or 0)


def _unfiltered(filters: ContactFilters) -> bool:
    # A compiled condition compares to None as SQL, not as a bool: look at it first.
    return filters.matching is None and filters == ContactFilters()


def _escaped(term: str) -> str:
    """`term` folded as `search_text` is, its LIKE wildcards taken literally (escape `/`)."""
    return folded(term.strip()).replace("/", "//").replace("%", "/%").replace("_", "/_")


def _substring(term: str) -> BindParameter[str]:
    """A LIKE pattern matching `term` anywhere in `search_text`."""
    return _pattern(f"%{_escaped(term)}%")


def _pattern(pattern: str) -> BindParameter[str]:
    """A LIKE pattern written into the statement (escaped as a literal), not bound: PostgreSQL
    plans a search for its pattern (a trigram index for a rare term, a scan for a common one)
    rather than reusing a plan made for another pattern; the rest of the statement stays
    bound and its plan cached."""
    return bindparam(None, pattern, type_=String(), literal_execute=True)
