"""Every query on suppressions."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rapport.kit.clock import utcnow
from rapport.kit.ids import new_id
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import workspace_of
from rapport.models.suppressions import Suppression, SuppressionReason


class SuppressionRepository(Repository[Suppression]):
    model = Suppression

    async def hashes_with_reason(
        self, hashes: Collection[str], reason: SuppressionReason
    ) -> set[str]:
        result = await self.session.execute(
            self.select(Suppression.email_hash).where(
                Suppression.email_hash.in_(hashes), Suppression.reason == reason
            )
        )
        return set(result.scalars())

    async def add_if_missing(self, email_hash: str, reason: SuppressionReason) -> None:
        """An entry for the hash, unless there is one (also one another transaction is
        writing at the same moment: no unique-index failure)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(Suppression)
            .values(
                id=new_id(),
                tenant_id=workspace_of(self.session),
                email_hash=email_hash,
                reason=reason,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )

    async def set_reason(self, email_hash: str, reason: SuppressionReason) -> None:
        """The entry's reason becomes this one, and it keeps no address."""
        await self.session.execute(
            update(Suppression)
            .where(Suppression.email_hash == email_hash)
            .values(reason=reason, email=None)
            .execution_options(synchronize_session=False)
        )

    async def delete_with_reason(self, email_hash: str, reason: SuppressionReason) -> bool:
        result = await self.session.execute(
            delete(Suppression)
            .where(Suppression.email_hash == email_hash, Suppression.reason == reason)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
