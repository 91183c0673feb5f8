"""Every query on email consent."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select

from rapport.kit.repository import Repository
from rapport.models.consent import EmailConsent


class ConsentRepository(Repository[EmailConsent]):
    model = EmailConsent

    async def of_contact(self, contact_id: uuid.UUID) -> EmailConsent | None:
        return await self.first(EmailConsent.contact_id == contact_id)

    async def of_contacts(
        self, contact_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, EmailConsent]:
        if not contact_ids:
            return {}
        result = await self.session.execute(
            select(EmailConsent).where(EmailConsent.contact_id.in_(contact_ids))
        )
        return {consent.contact_id: consent for consent in result.scalars()}
