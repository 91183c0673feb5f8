"""Sync status rules: one link per contact and integration, one contact per outside record."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from rapport.contacts.service import ContactService
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound, field_error
from rapport.kit.normalize import clean
from rapport.kit.pagination import PageRequest
from rapport.models.sync import SyncLink
from rapport.sync.repository import SyncLinkRepository, external_id_linked
from rapport.sync.schemas import SyncLinkPut

if TYPE_CHECKING:
    # Only a type: contacts are read through ContactService.
    from rapport.models.contacts import Contact


class SyncStatusService:
    """Where contacts live in other systems, as the tools syncing them record it.

    Sync bookkeeping emits no domain events: it records the state of an outside system, not a
    change made in Rapport, and events would echo every sync write back to the syncing tool
    through its webhooks.

    Contacts are named as on every contact route (id, email or externalId; a merged contact
    resolves to the contact it was merged into).
    """

    def __init__(self, context: Context) -> None:
        self.repo = SyncLinkRepository(context.session)
        self.contacts = ContactService(context)

    async def move_links(self, loser_id: uuid.UUID, winner_id: uuid.UUID) -> int:
        """A merge: the loser's links go to the winner (see `SyncLinkRepository.move`)."""
        return await self.repo.move(loser_id, winner_id)

    async def links_of(self, contact_ids: Collection[uuid.UUID]) -> list[SyncLink]:
        return await self.repo.of_contacts(contact_ids)

    async def unlink_all(self, contact_ids: Collection[uuid.UUID]) -> int:
        """An erasure: the contacts' links go; how many there were."""
        return await self.repo.delete_of_contacts(contact_ids)

    async def status(self, ref: str) -> tuple[Contact, list[SyncLink]]:
        """The contact and its links, by integration key."""
        contact = await self.contacts.get(ref)
        return contact, await self.repo.of_contact(contact.id)

    async def put(self, ref: str, integration_key: str, data: SyncLinkPut) -> tuple[SyncLink, bool]:
        """Create or replace the contact's link to the integration; the link and whether it
        was created. Replacing with what is recorded already writes nothing."""
        contact = await self.contacts.get(ref)
        external_id = clean(data.external_id)
        if external_id is None:
            raise field_error("externalId", "Cannot be blank")
        values: dict[str, Any] = {
            "provider": data.provider,
            "integration_name": clean(data.integration_name),
            "external_id": external_id,
            "last_synced_at": data.last_synced_at,
            "sync_hash": data.sync_hash,
        }
        # Concurrent writes of the same contact's link take turns (one insert, then updates).
        await self.contacts.lock(contact.id)
        elsewhere = await self.repo.linked_elsewhere(integration_key, external_id, contact.id)
        if elsewhere is not None:
            raise external_id_linked(elsewhere.contact_id)
        link = await self.repo.link(contact.id, integration_key)
        created = link is None
        if link is None:
            link = self.repo.add(
                SyncLink(contact_id=contact.id, integration_key=integration_key, **values)
            )
        else:
            for field, value in values.items():
                if getattr(link, field) != value:
                    setattr(link, field, value)
        await self.repo.flush()
        return link, created

    async def remove(self, ref: str, integration_key: str) -> None:
        contact = await self.contacts.get(ref)
        link = await self.repo.link(contact.id, integration_key)
        if link is None:
            raise NotFound("The contact has no link to this integration")
        await self.repo.session.delete(link)
        await self.repo.flush()

    async def lookup(
        self, integration_key: str, external_id: str | None, page: PageRequest
    ) -> tuple[list[SyncLink], PageMeta]:
        """Reverse lookup: the links of one integration, or of one of its records."""
        return await self.repo.page(integration_key, clean(external_id), page)
