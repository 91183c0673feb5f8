"""Every query on lists and their members."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, delete, false, func, insert, select, update

from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, taken
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import platform_wide, workspace_of
from rapport.models.lists import ListEntity, ListMember, SegmentList

INSERT_CHUNK = 5000


def name_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "A list of this entity type with this name already exists",
        "LIST_NAME_EXISTS",
        "name",
        existing_id,
    )


class ListRepository(Repository[SegmentList]):
    model = SegmentList
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": SegmentList.created_at,
        "updatedAt": SegmentList.updated_at,
        "name": SegmentList.name,
        "memberCount": SegmentList.member_count,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_lists_tenant_name": name_taken,
        "lists.tenant_id, lists.entity_type, lists.name": name_taken,
    }

    async def page(
        self, entity_type: ListEntity | None, dynamic: bool | None, request: PageRequest
    ) -> tuple[list[SegmentList], PageMeta]:
        stmt = self.select()
        if entity_type is not None:
            stmt = stmt.where(SegmentList.entity_type == entity_type)
        if dynamic is not None:
            stmt = stmt.where(SegmentList.is_dynamic.is_(dynamic))
        return await paginate(self.session, stmt, request, self.sort_columns, SegmentList.id)

    async def named(self, entity_type: ListEntity, name: str) -> SegmentList | None:
        return await self.first(SegmentList.entity_type == entity_type, SegmentList.name == name)

    async def dynamic(
        self, entity_type: ListEntity | None = None, *, relative_only: bool = False
    ) -> list[SegmentList]:
        stmt = self.select().where(SegmentList.is_dynamic.is_(True))
        if entity_type is not None:
            stmt = stmt.where(SegmentList.entity_type == entity_type)
        if relative_only:
            stmt = stmt.where(SegmentList.relative_to_now.is_(True))
        result = await self.session.execute(stmt.order_by(SegmentList.created_at))
        return list(result.scalars())

    async def tenants_with_dynamic(
        self, tenant_ids: Collection[uuid.UUID] | None = None, *, relative_only: bool = False
    ) -> set[uuid.UUID]:
        """The workspaces (of these) having dynamic lists: the event stream's consumer runs
        platform-wide."""
        stmt = select(SegmentList.tenant_id).where(SegmentList.is_dynamic.is_(True)).distinct()
        if tenant_ids is not None:
            stmt = stmt.where(SegmentList.tenant_id.in_(tenant_ids))
        if relative_only:
            stmt = stmt.where(SegmentList.relative_to_now.is_(True))
        return set((await self.session.execute(stmt)).scalars())

    async def by_ids(self, list_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, SegmentList]:
        result = await self.session.execute(self.select().where(SegmentList.id.in_(list_ids)))
        return {found.id: found for found in result.scalars()}

    async def lock(self, list_id: uuid.UUID) -> SegmentList | None:
        """The list, locked until commit: changes of one list's membership take turns, so
        its count stays exact."""
        stmt = self.select().where(SegmentList.id == list_id)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        else:
            await self.session.execute(
                update(SegmentList)
                .where(SegmentList.id == list_id)
                .values(updated_at=SegmentList.updated_at)
                .execution_options(synchronize_session=False)
            )
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        locked: SegmentList | None = result.scalars().first()
        return locked

    async def serialize_queries(self) -> None:
        """Make changes of the workspace's list queries take turns until commit, so that a
        cycle check sees the queries committed before it (two lists changed at once could
        otherwise each pass while naming the other): an advisory lock per workspace on
        PostgreSQL; on SQLite, the database's write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            key = func.hashtextextended(f"list-queries:{workspace_of(self.session)}", 0)
            lock = select(func.pg_advisory_xact_lock(key))
            await self.session.execute(platform_wide(lock, "a lock on a key, no table"))
        else:
            await self.session.execute(
                update(SegmentList).where(false()).execution_options(synchronize_session=False)
            )

    async def count_members(self, list_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(ListMember).where(ListMember.list_id == list_id)
        )
        return int(count or 0)


class MemberRepository(Repository[ListMember]):
    model = ListMember
    sort_columns: ClassVar[dict[str, Any]] = {"addedAt": ListMember.added_at}

    async def page(
        self, list_id: uuid.UUID, request: PageRequest
    ) -> tuple[list[ListMember], PageMeta]:
        stmt = self.select().where(ListMember.list_id == list_id)
        return await paginate(self.session, stmt, request, self.sort_columns, ListMember.record_id)

    async def present(
        self, list_id: uuid.UUID, record_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these records are in the list."""
        found: set[uuid.UUID] = set()
        for chunk in _chunks(list(record_ids), INSERT_CHUNK):
            result = await self.session.execute(
                select(ListMember.record_id).where(
                    ListMember.list_id == list_id, ListMember.record_id.in_(chunk)
                )
            )
            found.update(result.scalars())
        return found

    async def presence(
        self, list_ids: Collection[uuid.UUID], record_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, set[uuid.UUID]]:
        """Which of these records each of these lists holds, in one statement."""
        result = await self.session.execute(
            select(ListMember.list_id, ListMember.record_id).where(
                ListMember.list_id.in_(list_ids), ListMember.record_id.in_(record_ids)
            )
        )
        found: dict[uuid.UUID, set[uuid.UUID]] = {}
        for list_id, record_id in result:
            found.setdefault(list_id, set()).add(record_id)
        return found

    async def ids_matching(self, matching: Select[Any], list_id: uuid.UUID) -> list[uuid.UUID]:
        """Ids `matching` selects that are not in the list yet. NOT EXISTS, not NOT IN: an
        anti-join, where NOT IN over a large list runs its subquery per row once the
        members no longer fit PostgreSQL's work_mem."""
        subquery = matching.subquery()
        column = next(iter(subquery.c))
        member = select(ListMember.record_id).where(
            ListMember.list_id == list_id, ListMember.record_id == column
        )
        result = await self.session.execute(select(column).where(~member.exists()))
        return list(result.scalars())

    async def insert(
        self, list_id: uuid.UUID, record_ids: Iterable[uuid.UUID], at: datetime
    ) -> None:
        tenant = workspace_of(self.session)
        rows = [
            {"tenant_id": tenant, "list_id": list_id, "record_id": record_id, "added_at": at}
            for record_id in record_ids
        ]
        for chunk in _chunks(rows, INSERT_CHUNK):
            await self.session.execute(insert(ListMember), chunk)

    async def delete(
        self, list_id: uuid.UUID, record_ids: Collection[uuid.UUID]
    ) -> list[uuid.UUID]:
        """Take these records out of the list; those that were in it."""
        removed: list[uuid.UUID] = []
        for chunk in _chunks(list(record_ids), INSERT_CHUNK):
            result = await self.session.execute(
                delete(ListMember)
                .where(ListMember.list_id == list_id, ListMember.record_id.in_(chunk))
                .returning(ListMember.record_id)
                .execution_options(synchronize_session=False)
            )
            removed.extend(result.scalars())
        return removed

    async def delete_unmatched(self, list_id: uuid.UUID, matching: Select[Any]) -> list[uuid.UUID]:
        """Take out of the list every member `matching` does not select; their ids."""
        still = matching.where(matching.selected_columns[0] == ListMember.record_id)
        result = await self.session.execute(
            delete(ListMember)
            .where(ListMember.list_id == list_id, ~still.exists())
            .returning(ListMember.record_id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def held_by(
        self, record_ids: Collection[uuid.UUID]
    ) -> list[tuple[SegmentList, uuid.UUID, datetime]]:
        """Each list holding one of the records, with the record and when it joined."""
        result = await self.session.execute(
            select(SegmentList, ListMember.record_id, ListMember.added_at)
            .join(ListMember, ListMember.list_id == SegmentList.id)
            .where(ListMember.record_id.in_(record_ids))
            .order_by(ListMember.added_at, SegmentList.id)
        )
        return [(segment, record_id, added) for segment, record_id, added in result.all()]

    async def lists_holding(self, record_id: uuid.UUID) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(ListMember.list_id).where(ListMember.record_id == record_id)
        )
        return list(result.scalars())

    async def ids(self, selected: Select[Any]) -> list[uuid.UUID]:
        """The ids a select of another domain's records names (built by its service: the
        candidates of a list)."""
        return list((await self.session.execute(selected)).scalars())

    async def flags(self, evaluated: Select[Any]) -> dict[uuid.UUID, tuple[Any, ...]]:
        """Rows of (id, one flag per list) as `ListService.follow` selects them, by id."""
        return {row[0]: tuple(row[1:]) for row in await self.session.execute(evaluated)}

    def record_ids_in(self, list_ids: Collection[uuid.UUID]) -> Select[Any]:
        return select(ListMember.record_id).where(ListMember.list_id.in_(list_ids))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
