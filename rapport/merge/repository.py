"""The moves of a merge: set-based statements on the tables of every domain a contact's
records live in (company memberships, tags, activities, tasks)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    delete,
    insert,
    select,
    update,
)

from rapport.kit.repository import Repository
from rapport.models.activities import Activity
from rapport.models.companies import CompanyMembership
from rapport.models.contacts import Contact
from rapport.models.tags import ContactTag
from rapport.models.todos import Task


class MergeRepository(Repository[Contact]):
    """Moves of everything attached to one contact onto another, as set-based statements."""

    model = Contact

    def _companies_of(self, contact_id: uuid.UUID) -> Select[Any]:
        return select(CompanyMembership.company_id).where(
            CompanyMembership.contact_id == contact_id
        )

    def shared_memberships(self, loser: uuid.UUID, winner: uuid.UUID) -> Select[Any]:
        """Subquery of the loser's memberships of companies the winner is in too: the ones a
        merge deletes instead of moving."""
        return select(CompanyMembership.id).where(
            CompanyMembership.contact_id == loser,
            CompanyMembership.company_id.in_(self._companies_of(winner)),
        )

    async def move_memberships(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        """Moves the loser's memberships to the winner, deleting those the winner has already
        (`shared_memberships`)."""
        winner_companies = self._companies_of(winner)
        winner_has_primary = await self.session.scalar(
            select(CompanyMembership.id).where(
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
            delete(CompanyMembership).where(CompanyMembership.contact_id == loser)
        )
        return moved

    async def move_tags(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        on_winner = select(ContactTag.tag_id).where(ContactTag.contact_id == winner)
        copied = select(ContactTag.tenant_id, ContactTag.tag_id, ContactTag.created_at).where(
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
        await self.session.execute(delete(ContactTag).where(ContactTag.contact_id == loser))
        return len(rows)

    async def move_activities(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        return await self._update(Activity, Activity.contact_id == loser, contact_id=winner)

    async def move_tasks(self, loser: uuid.UUID, winner: uuid.UUID) -> int:
        return await self._update(Task, Task.contact_id == loser, contact_id=winner)

    async def _update(self, model: Any, condition: Any, **values: Any) -> int:
        result = await self.session.execute(
            update(model)
            .where(condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
