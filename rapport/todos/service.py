"""Task rules: links to records of the workspace, assignees who belong to it, completion
time."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic.alias_generators import to_camel

from rapport.companies.service import CompanyService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder, changes_between
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound, field_error
from rapport.kit.normalize import not_blank
from rapport.kit.pagination import PageRequest
from rapport.models.todos import Task, TaskStatus
from rapport.tenancy.service import checked_owner
from rapport.todos.repository import TaskFilters, TaskRepository
from rapport.todos.schemas import TaskCreate, TaskOut, TaskUpdate

_LINKS = ("assignee_user_id", "contact_id", "company_id")
REDACTED_TITLE = "Redacted"
"""The title of a task whose contact was erased (a title may name the person)."""


class TaskService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.repo = TaskRepository(context.session)
        self.events = EventRecorder(context)

    async def page(self, filters: TaskFilters, page: PageRequest) -> tuple[list[Task], PageMeta]:
        return await self.repo.page(filters, page)

    async def get(self, task_id: uuid.UUID) -> Task:
        task = await self.repo.get(task_id)
        if task is None:
            raise NotFound("Task not found")
        return task

    async def create(self, data: TaskCreate) -> Task:
        title = not_blank(data.title, "title")
        links = {field: await self._linked(field, getattr(data, field)) for field in _LINKS}
        task = self.repo.add(
            Task(
                title=title,
                description=data.description,
                status=data.status,
                due_at=data.due_at,
                completed_at=utcnow() if data.status == TaskStatus.DONE else None,
                project_id=data.project_id,
                **links,
            )
        )
        await self.repo.flush()
        self._emit("task.created", task)
        return task

    async def update(self, task_id: uuid.UUID, patch: TaskUpdate) -> Task:
        task = await self.get(task_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {f: getattr(patch, f) for f in sent}
        for field in ("title", "status"):
            if field in changes and changes[field] is None:
                raise field_error(field, "Cannot be null")
        if "title" in changes:
            changes["title"] = not_blank(changes["title"], "title")
        for field in _LINKS:
            if field in changes:
                changes[field] = await self._linked(field, changes[field])
        changes = {k: v for k, v in changes.items() if getattr(task, k) != v}
        if not changes:
            return task
        if "status" in changes:
            changes["completed_at"] = utcnow() if changes["status"] == TaskStatus.DONE else None
        before = _record(task)
        for field, value in changes.items():
            setattr(task, field, value)
        await self.repo.flush()
        self._emit("task.updated", task, before)
        return task

    async def delete(self, task_id: uuid.UUID) -> None:
        task = await self.get(task_id)
        record = _record(task)
        await self.context.session.delete(task)
        await self.repo.flush()
        self.events.record("task.deleted", "task", task_id, {"record": record})

    async def _linked(self, field: str, value: uuid.UUID | None) -> uuid.UUID | None:
        """The id to store for a link: a user of the workspace, a company of it, or a contact
        of it (a merged contact gives the contact it was merged into)."""
        if value is None:
            return None
        if field == "assignee_user_id":
            return await checked_owner(self.context, value, "assigneeUserId")
        try:
            if field == "contact_id":
                return (await ContactService(self.context).get(str(value))).id
            else:
                await CompanyService(self.context).get(str(value))
        except NotFound as exc:
            raise field_error(to_camel(field), "Not found in this workspace") from exc
        return value

    def _emit(self, event_type: str, task: Task, before: dict[str, Any] | None = None) -> None:
        record = _record(task)
        data: dict[str, Any] = {"record": record}
        if before is not None:
            data["changes"] = changes_between(before, record)
        self.events.record(event_type, "task", task.id, data)

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[Task]:
        return await self.repo.of_contacts(contact_ids)

    async def redact_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> int:
        """An erasure: the contacts' tasks stay (status, dates, assignee, company: open work
        and its counts) without their title, description or contact; how many."""
        return await self.repo.redact_of_contacts(contact_ids, REDACTED_TITLE)

    async def open_counts_of_assignee(
        self, user_id: uuid.UUID, start: datetime, end: datetime, now: datetime
    ) -> dict[str, int]:
        """The user's tasks that are open or in progress: `due_in_period` (due between `start`
        and `end`, both included, and not before `now`), `overdue` (due before `now`) and
        `no_due_date`."""
        return await self.repo.open_counts_of_assignee(user_id, start, end, now)


def _record(task: Task) -> dict[str, Any]:
    return TaskOut.model_validate(task).model_dump(mode="json")
