"""Merging two contacts: the winner absorbs the loser's companies, tags, activities (notes
included) and tasks, fills its empty fields from the loser's, and the loser stays as a MERGED
contact pointing at the winner, so that its id, email and externalId resolve to the winner."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import ContactService
from rapport.events.actor import Actor
from rapport.events.service import changes_between
from rapport.kit.errors import InvalidRequest, field_error
from rapport.kit.repository import ScopedRepository
from rapport.models import (
    Activity,
    CompanyMembership,
    Contact,
    ContactStatus,
    ContactTag,
    PropertyEntity,
    Task,
)

_FILLABLE = (
    "email",
    "phone",
    "external_id",
    "name",
    "given_name",
    "family_name",
    "lifecycle_stage",
)
_UNIQUE = ("email", "external_id")


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


class ContactMerger:
    def __init__(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        tenant_settings: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.contacts = ContactService(session, tenant_id, tenant_settings, actor)
        self.moves = MergeRepository(session, tenant_id)

    async def merge(self, winner_ref: str, loser_id: uuid.UUID) -> Contact:
        winner = await self.contacts.get(winner_ref)
        loser = await self.contacts.repo.get(loser_id)
        if loser is None:
            raise field_error("loserId", "No such contact in this workspace")
        if loser.id == winner.id:
            raise InvalidRequest("A contact cannot be merged with itself")
        if loser.status == ContactStatus.MERGED:
            raise InvalidRequest(f"The contact {loser.id} is already merged")
        if winner.status == ContactStatus.DELETED:
            raise InvalidRequest("A deleted contact cannot absorb another; restore it first")
        for contact in sorted((winner, loser), key=lambda c: c.id):
            await self.contacts.repo.lock(contact.id)
        moved = {
            "memberships": await self.moves.move_memberships(loser.id, winner.id),
            "tags": await self.moves.move_tags(loser.id, winner.id),
            "activities": await self.moves.move_activities(loser.id, winner.id),
            "tasks": await self.moves.move_tasks(loser.id, winner.id),
        }
        before = ContactOut.model_validate(winner).model_dump(mode="json")
        loser_record = ContactOut.model_validate(loser).model_dump(mode="json")
        loser.status = ContactStatus.MERGED
        loser.merged_into_id = winner.id
        await self.contacts.repo.flush()  # frees the loser's email and externalId first
        old_properties = winner.properties
        for field in _FILLABLE:
            value = getattr(loser, field)
            if getattr(winner, field) is None and value is not None:
                if field in _UNIQUE and await self.contacts.repo.live_by(
                    getattr(Contact, field) == value, exclude_id=winner.id
                ):
                    continue  # a deleted loser's identifier, since taken by a live contact
                setattr(winner, field, value)
        winner.properties = {**(loser.properties or {}), **(winner.properties or {})}
        if loser.last_activity_at and (
            winner.last_activity_at is None or loser.last_activity_at > winner.last_activity_at
        ):
            winner.last_activity_at = loser.last_activity_at
        await self.contacts.repo.flush()
        rules = self.contacts.rules
        await rules.store(PropertyEntity.CONTACT, winner.id, old_properties, winner.properties)
        await rules.forget(loser.id)
        after = ContactOut.model_validate(winner).model_dump(mode="json")
        self.contacts.events.record(
            "contact.merged",
            "contact",
            winner.id,
            {
                "winnerId": str(winner.id),
                "loserId": str(loser.id),
                "record": after,
                "loser": loser_record,
                "moved": moved,
                "changes": changes_between(before, after),
            },
        )
        return winner
