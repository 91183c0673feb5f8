"""Wire shape of events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from rapport.kit.schemas import WireModel


class ActorOut(WireModel):
    type: str = Field(description="api_key, user or system", examples=["api_key"])
    id: uuid.UUID | None


class EventOut(WireModel):
    id: uuid.UUID
    sequence: int = Field(description="Order in which events were written")
    type: str = Field(examples=["contact.updated"])
    resource_type: str = Field(examples=["contact"])
    resource_id: uuid.UUID
    actor: ActorOut
    occurred_at: datetime
    data: dict[str, Any] = Field(
        description="`record` (the resource after the change, or as it was when deleted); "
        "updates add `changes`: `{field: {before, after}}`",
        examples=[
            {
                "record": {"id": "01a2...", "email": "alice@example.com", "name": "Alice"},
                "changes": {"name": {"before": "Alice J.", "after": "Alice"}},
            }
        ],
    )

    @classmethod
    def of(cls, event: Any) -> EventOut:
        return cls(
            id=event.id,
            sequence=event.sequence,
            type=event.type,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            actor=ActorOut(type=event.actor_type, id=event.actor_id),
            occurred_at=event.occurred_at,
            data=event.data,
        )
