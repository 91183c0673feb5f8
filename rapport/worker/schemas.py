"""Wire shape of jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from rapport.kit.schemas import WireModel
from rapport.models.jobs import JobState


class JobOut(WireModel):
    id: uuid.UUID
    task: str = Field(examples=["webhooks.deliver"])
    queue: str
    state: JobState
    priority: int
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    run_at: datetime = Field(description="When it runs next (queued) or last ran")
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
