"""Every query on tags and on what carries them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

from sqlalchemy import Select, delete, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from rapport.kit.clock import utcnow
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, taken
from rapport.kit.ids import parse_uuid
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import workspace_of
from rapport.models.tags import CompanyTag, ContactTag, Tag


def key_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken("A tag with this key already exists", "TAG_KEY_EXISTS", "key", existing_id)


class TagRepository(Repository[Tag]):
    model = Tag
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Tag.created_at,
        "key": Tag.key,
        "name": Tag.name,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_tags_tenant_key": key_taken,
        "tags.tenant_id, tags.key": key_taken,
    }

    async def page(self, search: str | None, request: PageRequest) -> tuple[list[Tag], PageMeta]:
        stmt = self.select()
        if search:
            term = search.strip()
            stmt = stmt.where(
                or_(
                    Tag.key.icontains(term, autoescape=True),
                    Tag.name.icontains(term, autoescape=True),
                )
            )
        return await paginate(self.session, stmt, request, self.sort_columns, Tag.id)

    async def ids_by_key(self) -> dict[str, uuid.UUID]:
        """Every tag of the workspace, id by key (what queries naming tags are compiled
        with)."""
        rows = await self.session.execute(self.select(Tag.key, Tag.id))
        return {key: tag_id for key, tag_id in rows}

    def ids_of(self, ref: str) -> Select[Any]:
        """A subquery of the id of the tag with this id or key (keys are lowercase, so a
        reference in any case names the same tag)."""
        tag_id = parse_uuid(ref)
        key = ref.lower()
        named = Tag.key == key if tag_id is None else or_(Tag.id == tag_id, Tag.key == key)
        return self.select(Tag.id).where(named)

    async def by_key(self, key: str, exclude_id: uuid.UUID | None = None) -> Tag | None:
        conditions = [Tag.key == key]
        if exclude_id is not None:
            conditions.append(Tag.id != exclude_id)
        return await self.first(*conditions)


class _TaggingRepository(Repository[Any]):
    """Links between tags and one kind of record."""

    def record_ids_tagged(self, tag: Select[Any]) -> Select[Any]:
        """A subquery of the ids of records carrying the tag(s) `tag` selects the ids of."""
        return self.select(self.record_column).where(self.model.tag_id.in_(tag))

    record_key: ClassVar[str]

    @property
    def record_column(self) -> Any:
        return getattr(self.model, self.record_key)

    async def tags_of(self, record_id: uuid.UUID) -> list[Tag]:
        result = await self.session.execute(
            self.select()
            .where(self.record_column == record_id)
            .options(selectinload(self.model.tag))
            .order_by(self.model.created_at, self.model.tag_id)
        )
        return [link.tag for link in result.scalars()]

    async def unlink_all(self, record_ids: Collection[uuid.UUID]) -> int:
        result = await self.session.execute(
            delete(self.model)
            .where(self.record_column.in_(record_ids))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def link(self, record_id: uuid.UUID, tag_id: uuid.UUID) -> Any:
        return await self.first(self.record_column == record_id, self.model.tag_id == tag_id)

    async def put_on(self, record_ids: Sequence[uuid.UUID], tag_id: uuid.UUID) -> list[uuid.UUID]:
        """Link the tag to these records; those that did not carry it already (a record
        another request linked at the same moment carried it)."""
        if not record_ids:
            return []
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        tenant_id, now = workspace_of(self.session), utcnow()
        rows = [
            {
                "tenant_id": tenant_id,
                self.record_key: record_id,
                "tag_id": tag_id,
                "created_at": now,
            }
            for record_id in dict.fromkeys(record_ids)
        ]
        record_column = getattr(self.model, self.record_key)
        result = await self.session.execute(
            insert(self.model).values(rows).on_conflict_do_nothing().returning(record_column)
        )
        return list(result.scalars())


class ContactTagRepository(_TaggingRepository):
    model = ContactTag
    record_key = "contact_id"


class CompanyTagRepository(_TaggingRepository):
    model = CompanyTag
    record_key = "company_id"
