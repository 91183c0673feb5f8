"""Every query on suppressions."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, ClassVar

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rapport.kit.clock import utcnow
from rapport.kit.envelope import PageMeta
from rapport.kit.ids import new_id
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import workspace_of
from rapport.models.suppressions import Suppression, SuppressionReason


class SuppressionRepository(Repository[Suppression]):
    model = Suppression
    sort_columns: ClassVar[dict[str, Any]] = {"createdAt": Suppression.created_at}

    async def page(
        self, reason: SuppressionReason | None, email_hash: str | None, request: PageRequest
    ) -> tuple[list[Suppression], PageMeta]:
        stmt = self.select()
        if reason is not None:
            stmt = stmt.where(Suppression.reason == reason)
        if email_hash is not None:
            stmt = stmt.where(Suppression.email_hash == email_hash)
        return await paginate(self.session, stmt, request, self.sort_columns, Suppression.id)

    async def by_hash(self, email_hash: str) -> Suppression | None:
        return await self.first(Suppression.email_hash == email_hash)

    async def ids_of_hashes(self, hashes: Collection[str]) -> list[uuid.UUID]:
        result = await self.session.execute(
            self.select(Suppression.id).where(Suppression.email_hash.in_(hashes))
        )
        return list(result.scalars())

    async def exists(self, suppression_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            self.select(Suppression.id).where(Suppression.id == suppression_id)
        )
        return result.first() is not None

    async def hashes_among(self, hashes: Collection[str]) -> set[str]:
        """Which of these hashes are on the list, for any reason."""
        result = await self.session.execute(
            self.select(Suppression.email_hash).where(Suppression.email_hash.in_(hashes))
        )
        return set(result.scalars())

    async def insert_if_missing(
        self, email_hash: str, email: str | None, reason: SuppressionReason, source: str | None
    ) -> uuid.UUID | None:
        """The new entry's id, or None when the hash has an entry (also one another
        transaction is writing at the same moment: no unique-index failure)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        result = await self.session.execute(
            insert(Suppression)
            .values(
                id=new_id(),
                tenant_id=workspace_of(self.session),
                email_hash=email_hash,
                email=email,
                reason=reason,
                source=source,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(Suppression.id)
        )
        created: uuid.UUID | None = result.scalar_one_or_none()
        return created

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
        """The entry's reason becomes this one, and it keeps no address (nor its source, free
        text that may name the person)."""
        await self.session.execute(
            update(Suppression)
            .where(Suppression.email_hash == email_hash)
            .values(reason=reason, email=None, source=None)
            .execution_options(synchronize_session=False)
        )

    async def delete_with_reason(self, email_hash: str, reason: SuppressionReason) -> bool:
        result = await self.session.execute(
            delete(Suppression)
            .where(Suppression.email_hash == email_hash, Suppression.reason == reason)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def delete_unless_erased(self, suppression_id: uuid.UUID) -> bool:
        """Delete the entry unless its reason is `erased` (also when an erasure made it so
        while this request was deciding); whether it was deleted."""
        result = await self.session.execute(
            delete(Suppression)
            .where(
                Suppression.id == suppression_id,
                Suppression.reason != SuppressionReason.ERASED,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
