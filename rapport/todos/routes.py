"""HTTP routes of tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import api_router
from rapport.models.todos import TaskStatus
from rapport.todos.deps import TasksRead, TasksWrite
from rapport.todos.repository import TaskFilters, TaskRepository
from rapport.todos.schemas import TaskCreate, TaskOut, TaskUpdate

router = api_router(prefix="/tasks", tags=["Tasks"])

_NOT_FOUND = documented_errors({404: "No such task in this workspace"})


@router.get("", summary="List tasks")
async def list_tasks(
    tasks: TasksRead,
    page: Annotated[PageRequest, Depends(Pagination(TaskRepository.sort_columns))],
    status: Annotated[list[TaskStatus] | None, Query(description="Repeat to combine")] = None,
    project_id: Annotated[uuid.UUID | None, Query(alias="projectId")] = None,
    assignee_user_id: Annotated[uuid.UUID | None, Query(alias="assigneeUserId")] = None,
    contact_id: Annotated[uuid.UUID | None, Query(alias="contactId")] = None,
    company_id: Annotated[uuid.UUID | None, Query(alias="companyId")] = None,
    due_before: Annotated[UtcDateTime | None, Query(alias="dueBefore")] = None,
    due_after: Annotated[UtcDateTime | None, Query(alias="dueAfter")] = None,
) -> ListEnvelope[TaskOut]:
    filters = TaskFilters(
        statuses=tuple(status or ()),
        project_id=project_id,
        assignee_user_id=assignee_user_id,
        contact_id=contact_id,
        company_id=company_id,
        due_before=due_before,
        due_after=due_after,
    )
    rows, meta = await tasks.page(filters, page)
    return ListEnvelope(data=[TaskOut.model_validate(t) for t in rows], meta=meta)


@router.post("", status_code=201, summary="Create a task")
async def create_task(body: TaskCreate, tasks: TasksWrite) -> Envelope[TaskOut]:
    return Envelope(data=TaskOut.model_validate(await tasks.create(body)))


@router.get("/{task_id}", summary="One task", responses=_NOT_FOUND)
async def get_task(task_id: uuid.UUID, tasks: TasksRead) -> Envelope[TaskOut]:
    return Envelope(data=TaskOut.model_validate(await tasks.get(task_id)))


@router.patch(
    "/{task_id}",
    summary="Change a task (status done stamps completedAt)",
    responses=_NOT_FOUND,
)
async def update_task(task_id: uuid.UUID, body: TaskUpdate, tasks: TasksWrite) -> Envelope[TaskOut]:
    task = await tasks.update(task_id, body)
    return Envelope(data=TaskOut.model_validate(task))


@router.delete("/{task_id}", status_code=204, summary="Delete a task", responses=_NOT_FOUND)
async def delete_task(task_id: uuid.UUID, tasks: TasksWrite) -> Response:
    await tasks.delete(task_id)
    return Response(status_code=204)
