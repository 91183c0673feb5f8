"""Every query on tasks."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import and_, case, func, select, update

from rapport.kit.envelope import PageMeta
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.todos import Task, TaskStatus


@dataclass(frozen=True)
class TaskFilters:
    statuses: tuple[TaskStatus, ...] = ()
    project_id: uuid.UUID | None = None
    assignee_user_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


class TaskRepository(Repository[Task]):
    model = Task
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Task.created_at,
        "updatedAt": Task.updated_at,
        "dueAt": Task.due_at,
        "title": Task.title,
    }

    async def page(self, f: TaskFilters, request: PageRequest) -> tuple[list[Task], PageMeta]:
        stmt = self.select()
        if f.statuses:
            stmt = stmt.where(Task.status.in_(f.statuses))
        for column, value in (
            (Task.project_id, f.project_id),
            (Task.assignee_user_id, f.assignee_user_id),
            (Task.contact_id, f.contact_id),
            (Task.company_id, f.company_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if f.due_before is not None:
            stmt = stmt.where(Task.due_at <= f.due_before)
        if f.due_after is not None:
            stmt = stmt.where(Task.due_at >= f.due_after)
        return await paginate(self.session, stmt, request, self.sort_columns, Task.id)

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[Task]:
        result = await self.session.execute(
            self.select().where(Task.contact_id.in_(contact_ids)).order_by(Task.id)
        )
        return list(result.scalars())

    async def redact_of_contacts(self, contact_ids: Collection[uuid.UUID], title: str) -> int:
        result = await self.session.execute(
            update(Task)
            .where(Task.contact_id.in_(contact_ids))
            .values(title=title, description=None, contact_id=None)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def open_counts_of_assignee(
        self, user_id: uuid.UUID, start: datetime, end: datetime, now: datetime
    ) -> dict[str, int]:
        due_in_period = and_(Task.due_at >= now, Task.due_at.between(start, end))
        row = (
            await self.session.execute(
                select(
                    func.count(case((due_in_period, 1))).label("due_in_period"),
                    func.count(case((Task.due_at < now, 1))).label("overdue"),
                    func.count(case((Task.due_at.is_(None), 1))).label("no_due_date"),
                ).where(
                    Task.assignee_user_id == user_id,
                    Task.status.in_((TaskStatus.OPEN, TaskStatus.IN_PROGRESS)),
                )
            )
        ).one()
        return dict(row._mapping)
