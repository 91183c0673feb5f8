"""Merging two contacts: the winner absorbs the loser's companies, tags, activities (notes
included), tasks and integration sync links, fills its empty fields from the loser's, and the
loser stays as a MERGED contact pointing at the winner, so that its id, email and externalId
resolve to the winner."""

from __future__ import annotations

import uuid

from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import ContactService
from rapport.events.service import changes_between
from rapport.kit.context import Context
from rapport.kit.errors import AppError, Conflict, InvalidRequest, field_error
from rapport.lists.service import ListService
from rapport.merge.repository import MergeRepository
from rapport.models.contacts import Contact, ContactStatus
from rapport.models.properties import PropertyEntity
from rapport.sales.leads import LeadService
from rapport.sync.service import SyncStatusService

_FILLABLE = (
    "email",
    "phone",
    "external_id",
    "name",
    "given_name",
    "family_name",
    "lifecycle_stage",
    "owner_user_id",
)
_UNIQUE = ("email", "external_id")


def already_merged(contact: Contact) -> AppError:
    return Conflict(
        f"The contact {contact.id} is already merged into {contact.merged_into_id}",
        code="CONTACT_MERGED",
    )


class ContactMerger:
    def __init__(self, context: Context) -> None:
        self.contacts = ContactService(context)
        self.moves = MergeRepository(context.session)
        self.sync_links = SyncStatusService(context)
        self.leads = LeadService(context)
        self.lists = ListService(context)

    async def merge(self, winner_ref: str, loser_id: uuid.UUID) -> Contact:
        winner = await self.contacts.get(winner_ref)
        loser = await self.contacts.by_id(loser_id)
        if loser is None:
            raise field_error("loserId", "No such contact in this workspace")
        if loser.id == winner.id:
            named = await self.contacts.find(winner_ref)
            if named.id != winner.id:  # the path names a contact already merged into the loser
                raise already_merged(named)
            raise InvalidRequest("A contact cannot be merged with itself")
        # Both rows are locked (in id order, so opposite merges cannot deadlock) and read
        # again before any rule is checked: of two merges racing over the same contacts, the
        # second sees what the first did and is refused, instead of both passing their checks
        # on what they read before.
        for contact_id in sorted((winner.id, loser.id)):
            await self.contacts.lock(contact_id)
        winner, loser = await self.contacts.reread(winner), await self.contacts.reread(loser)
        for contact in (loser, winner):
            if contact.status == ContactStatus.MERGED:
                raise already_merged(contact)
        if winner.status == ContactStatus.DELETED:
            raise InvalidRequest("A deleted contact cannot absorb another; restore it first")
        rules = self.contacts.rules
        await rules.forget(self.moves.shared_memberships(loser.id, winner.id))
        moved = {
            "memberships": await self.moves.move_memberships(loser.id, winner.id),
            "tags": await self.moves.move_tags(loser.id, winner.id),
            "activities": await self.moves.move_activities(loser.id, winner.id),
            "tasks": await self.moves.move_tasks(loser.id, winner.id),
            "syncLinks": await self.sync_links.move_links(loser.id, winner.id),
            "leads": await self.leads.move_contact(loser.id, winner.id),
            "staticLists": await self.lists.move_memberships(loser.id, winner.id),
        }
        before = ContactOut.model_validate(winner).model_dump(mode="json")
        loser_record = ContactOut.model_validate(loser).model_dump(mode="json")
        loser.status = ContactStatus.MERGED
        loser.merged_into_id = winner.id
        await self.contacts.flush()  # frees the loser's email and externalId first
        old_properties = winner.properties
        for field in _FILLABLE:
            value = getattr(loser, field)
            if getattr(winner, field) is None and value is not None:
                if field in _UNIQUE and await self.contacts.taken_by_another(
                    field, value, winner.id
                ):
                    continue  # a deleted loser's identifier, since taken by a live contact
                setattr(winner, field, value)
        winner.properties = {**(loser.properties or {}), **(winner.properties or {})}
        if loser.last_activity_at and (
            winner.last_activity_at is None or loser.last_activity_at > winner.last_activity_at
        ):
            winner.last_activity_at = loser.last_activity_at
        await self.contacts.flush()
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
