"""Wire shapes of tasks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel, UtcDateTime, WireModel, not_null
from rapport.models.todos import TaskStatus

_PROJECT_DOC = (
    "A free reference to a project kept elsewhere (Rapport has no projects resource): stored "
    "as given, not checked, and a filter of GET /tasks"
)
_STATUS_DOC = "open, in_progress, done or cancelled (any case); done stamps completedAt"
_ASSIGNEE_DOC = "A user of this workspace (checked)"
_CONTACT_DOC = (
    "A contact of this workspace (checked); a merged contact's id links the contact it was "
    "merged into"
)
_COMPANY_DOC = "A company of this workspace (checked)"


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Send the proposal",
                    "description": "Growth plan, 25 seats, annual billing.",
                    "status": "open",
                    "dueAt": "2026-03-06T17:00:00Z",
                    "assigneeUserId": "8d3f2b9e-4c1a-4e6b-9f0d-7a2c5e1b3d48",
                    "projectId": "2b7e9c14-6d3a-4f85-b1e2-9c0a4d7f6e31",
                    "contactId": "5f0c6a52-8a4e-4b8e-9a57-2f1d3c4b5a69",
                }
            ]
        }
    )

    title: str = Field(
        min_length=1, max_length=300, examples=["Send the proposal"], description="Not blank"
    )
    description: str | None = Field(default=None, max_length=65_536)
    status: TaskStatus = Field(default=TaskStatus.OPEN, description=_STATUS_DOC)
    due_at: UtcDateTime | None = Field(default=None, description="When it is due (ISO 8601)")
    assignee_user_id: uuid.UUID | None = Field(default=None, description=_ASSIGNEE_DOC)
    project_id: uuid.UUID | None = Field(default=None, description=_PROJECT_DOC)
    contact_id: uuid.UUID | None = Field(default=None, description=_CONTACT_DOC)
    company_id: uuid.UUID | None = Field(default=None, description=_COMPANY_DOC)


class TaskUpdate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "in_progress", "dueAt": "2026-03-09T17:00:00Z"}]}
    )

    title: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=300,
        description="Not blank",
    )
    description: str | None = Field(default=None, max_length=65_536)
    status: TaskStatus | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="open, in_progress, done or cancelled (any case); done stamps completedAt, "
        "any other status clears it",
    )
    due_at: UtcDateTime | None = Field(default=None, description="ISO 8601; null clears it")
    assignee_user_id: uuid.UUID | None = Field(
        default=None, description=_ASSIGNEE_DOC + "; null unassigns the task"
    )
    project_id: uuid.UUID | None = Field(default=None, description=_PROJECT_DOC)
    contact_id: uuid.UUID | None = Field(
        default=None, description=_CONTACT_DOC + "; null unlinks it"
    )
    company_id: uuid.UUID | None = Field(
        default=None, description=_COMPANY_DOC + "; null unlinks it"
    )
