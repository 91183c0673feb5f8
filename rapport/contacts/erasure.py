"""What erasing a person needs of contacts: every record of the person (a contact and those
merged into it), and deleting them for good. The rules of an erasure live with its caller
(`rapport.privacy`); a soft delete is `ContactService.delete`."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from rapport.contacts.repository import ContactRepository
from rapport.contacts.service import MERGE_DEPTH
from rapport.kit.context import Context
from rapport.models.contacts import Contact


class ContactErasure:
    def __init__(self, context: Context) -> None:
        self.repo = ContactRepository(context.session)

    async def with_merged(self, contact: Contact) -> list[Contact]:
        """The contact, then every contact merged into it (directly or through another
        merged one): the same person."""
        found, frontier = [contact], [contact.id]
        for _ in range(MERGE_DEPTH):
            merged = await self.repo.merged_into(frontier)
            if not merged:
                break
            found += merged
            frontier = [c.id for c in merged]
        return found

    async def delete(self, contact_ids: Collection[uuid.UUID]) -> int:
        """Delete the contacts' rows; what points at them must be gone or unlinked first."""
        return await self.repo.delete_for_good(contact_ids)
