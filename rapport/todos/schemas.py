"""Wire shapes of tasks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from rapport.kit.schemas import InputModel, UtcDateTime, WireModel, not_null
from rapport.models.todos import TaskStatus


class TaskOut(WireModel):
    id: uuid.UUID
    title: str = Field(examples=["Send the proposal"])
    description: str | None
    status: TaskStatus
    due_at: datetime | None
    completed_at: datetime | None = Field(description="When it was marked done")
    assignee_user_id: uuid.UUID | None
    project_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    company_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class TaskCreate(InputModel):
    title: str = Field(min_length=1, max_length=300, examples=["Send the proposal"])
    description: str | None = Field(default=None, max_length=65_536)
    status: TaskStatus = TaskStatus.OPEN
    due_at: UtcDateTime | None = None
    assignee_user_id: uuid.UUID | None = Field(default=None, description="A workspace user")
    project_id: uuid.UUID | None = Field(
        default=None,
        description="A free reference to a project kept elsewhere (Rapport has no projects "
        "resource): stored as given, not checked, and a filter of GET /tasks",
    )
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None


class TaskUpdate(InputModel):
    title: str | None = Field(
        default=None, json_schema_extra=not_null, min_length=1, max_length=300
    )
    description: str | None = Field(default=None, max_length=65_536)
    status: TaskStatus | None = Field(default=None, json_schema_extra=not_null)
    due_at: UtcDateTime | None = None
    assignee_user_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = Field(
        default=None,
        description="A free reference to a project kept elsewhere (Rapport has no projects "
        "resource): stored as given, not checked, and a filter of GET /tasks",
    )
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
