"""Every query on sync links."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, ClassVar

from sqlalchemy import delete, update

from rapport.kit.clock import utcnow
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, taken
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.sync import SyncLink


def external_id_linked(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "This record of the integration is linked to another contact",
        "SYNC_EXTERNAL_ID_EXISTS",
        "externalId",
        existing_id,
    )


class SyncLinkRepository(Repository[SyncLink]):
    model = SyncLink
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": SyncLink.created_at,
        "updatedAt": SyncLink.updated_at,
        "lastSyncedAt": SyncLink.last_synced_at,
        "externalId": SyncLink.external_id,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_sync_links_tenant_key_external_id": external_id_linked,
        "sync_links.tenant_id, sync_links.integration_key, sync_links.external_id": (
            external_id_linked
        ),
    }

    async def of_contact(self, contact_id: uuid.UUID) -> list[SyncLink]:
        result = await self.session.execute(
            self.select()
            .where(SyncLink.contact_id == contact_id)
            .order_by(SyncLink.integration_key)
        )
        return list(result.scalars())

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[SyncLink]:
        result = await self.session.execute(
            self.select()
            .where(SyncLink.contact_id.in_(contact_ids))
            .order_by(SyncLink.integration_key, SyncLink.id)
        )
        return list(result.scalars())

    async def delete_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> int:
        result = await self.session.execute(
            delete(SyncLink)
            .where(SyncLink.contact_id.in_(contact_ids))
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def link(self, contact_id: uuid.UUID, integration_key: str) -> SyncLink | None:
        return await self.first(
            SyncLink.contact_id == contact_id, SyncLink.integration_key == integration_key
        )

    async def linked_elsewhere(
        self, integration_key: str, external_id: str, contact_id: uuid.UUID
    ) -> SyncLink | None:
        """The link of the integration's record to a contact other than this one, if any."""
        return await self.first(
            SyncLink.integration_key == integration_key,
            SyncLink.external_id == external_id,
            SyncLink.contact_id != contact_id,
        )

    async def page(
        self, integration_key: str, external_id: str | None, request: PageRequest
    ) -> tuple[list[SyncLink], PageMeta]:
        stmt = self.select().where(SyncLink.integration_key == integration_key)
        if external_id is not None:
            stmt = stmt.where(SyncLink.external_id == external_id)
        return await paginate(self.session, stmt, request, self.sort_columns, SyncLink.id)

    async def move(self, loser_id: uuid.UUID, winner_id: uuid.UUID) -> int:
        """A merge: the loser's links go to the winner, except those of integrations the winner
        is linked to already, which are deleted (the winner's link is the one that integration
        keeps). The number of links moved. Set-based: links loaded in the session are stale."""
        if loser_id == winner_id:
            return 0
        winner_keys = self.select(SyncLink.integration_key).where(SyncLink.contact_id == winner_id)
        result = await self.session.execute(
            update(SyncLink)
            .where(
                SyncLink.contact_id == loser_id,
                SyncLink.integration_key.not_in(winner_keys),
            )
            .values(contact_id=winner_id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(delete(SyncLink).where(SyncLink.contact_id == loser_id))
        return int(getattr(result, "rowcount", 0) or 0)
