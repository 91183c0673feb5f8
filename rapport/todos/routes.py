"""HTTP routes of tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Response

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

TaskId = Annotated[uuid.UUID, Path(description="The task's id")]


@router.get("", summary="List tasks")
async def list_tasks(
    tasks: TasksRead,
    page: Annotated[PageRequest, Depends(Pagination(TaskRepository.sort_columns))],
    status: Annotated[
        list[TaskStatus] | None,
        Query(
            description="Only these statuses (open, in_progress, done, cancelled); repeat to "
            "combine"
        ),
    ] = None,
    project_id: Annotated[
        uuid.UUID | None,
        Query(alias="projectId", description="Only tasks with this projectId (a free reference)"),
    ] = None,
    assignee_user_id: Annotated[
        uuid.UUID | None,
        Query(alias="assigneeUserId", description="Only tasks assigned to this user (an id)"),
    ] = None,
    contact_id: Annotated[
        uuid.UUID | None,
        Query(alias="contactId", description="Only tasks linked to this contact (its id)"),
    ] = None,
    company_id: Annotated[
        uuid.UUID | None,
        Query(alias="companyId", description="Only tasks linked to this company (its id)"),
    ] = None,
    due_before: Annotated[
        UtcDateTime | None,
        Query(
            alias="dueBefore",
            description="Only tasks due at or before this time (ISO 8601); tasks without a due "
            "date are left out",
        ),
    ] = None,
    due_after: Annotated[
        UtcDateTime | None,
        Query(
            alias="dueAfter",
            description="Only tasks due at or after this time (ISO 8601); tasks without a due "
            "date are left out",
        ),
    ] = None,
) -> ListEnvelope[TaskOut]:
    """The workspace's tasks, newest first unless the sort says otherwise.

    Filters combine: `status` may be repeated, the id filters match the ids stored on the
    task, and `dueBefore` / `dueAfter` bound `dueAt` inclusively. `projectId` is a free
    reference to a project kept elsewhere (Rapport has no projects resource), so any id
    filters. A merge moves a contact's tasks to the contact it was merged into.
    """
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
    """Creates a task, optionally linked to a contact and/or a company and assigned to a user.

    `assigneeUserId` must be a user of this workspace, and `contactId` / `companyId` records of
    it (a 422 names the field otherwise); a merged contact's id links the task to the contact
    it was merged into. `projectId` is stored as given, unchecked. A task created with status
    `done` gets `completedAt` now. Emits `task.created`.
    """
    return Envelope(data=TaskOut.model_validate(await tasks.create(body)))


@router.get("/{task_id}", summary="One task", responses=_NOT_FOUND)
async def get_task(task_id: TaskId, tasks: TasksRead) -> Envelope[TaskOut]:
    """One task of the workspace."""
    return Envelope(data=TaskOut.model_validate(await tasks.get(task_id)))


@router.patch(
    "/{task_id}",
    summary="Change a task (status done stamps completedAt)",
    responses=_NOT_FOUND,
)
async def update_task(task_id: TaskId, body: TaskUpdate, tasks: TasksWrite) -> Envelope[TaskOut]:
    """Changes the fields sent; the fields left out keep their value, and null clears a
    nullable one (`title` and `status` cannot be null).

    The links are checked as on creation: the assignee must be a user of this workspace, the
    contact and company records of it. Setting `status` to `done` stamps `completedAt`; any
    other status clears it. A body that changes nothing emits nothing; otherwise
    `task.updated` carries each changed field.
    """
    task = await tasks.update(task_id, body)
    return Envelope(data=TaskOut.model_validate(task))


@router.delete("/{task_id}", status_code=204, summary="Delete a task", responses=_NOT_FOUND)
async def delete_task(task_id: TaskId, tasks: TasksWrite) -> Response:
    """Deletes the task for good and emits `task.deleted` with the task as it was."""
    await tasks.delete(task_id)
    return Response(status_code=204)
