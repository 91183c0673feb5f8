"""Every query on tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

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
