"""Every query on suppressions."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete

from rapport.kit.repository import Repository
from rapport.models.suppressions import Suppression, SuppressionReason


class SuppressionRepository(Repository[Suppression]):
    model = Suppression

    async def by_hash(self, email_hash: str) -> Suppression | None:
        return await self.first(Suppression.email_hash == email_hash)

    async def hashes_with_reason(
        self, hashes: Collection[str], reason: SuppressionReason
    ) -> set[str]:
        result = await self.session.execute(
            self.select(Suppression.email_hash).where(
                Suppression.email_hash.in_(hashes), Suppression.reason == reason
            )
        )
        return set(result.scalars())

    async def delete_with_reason(self, email_hash: str, reason: SuppressionReason) -> bool:
        result = await self.session.execute(
            delete(Suppression)
            .where(Suppression.email_hash == email_hash, Suppression.reason == reason)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
