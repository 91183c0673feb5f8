"""Recording domain events, and reading them back as the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Select

from rapport.events.catalog import EVENT_TYPES
from rapport.events.repository import EventFilters, EventRepository
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.deferred import insert_at_commit
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound
from rapport.kit.ids import new_id
from rapport.kit.pagination import PageRequest
from rapport.models.events import Event

_BOOKKEEPING = frozenset({"updatedAt"})
REDACTED: dict[str, Any] = {"redacted": True}
"""The data of an event about an erased person."""


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"before": ..., "after": ...}}` for every field whose value differs (the
    modification time aside: it changes every time)."""
    return {
        field: {"before": before.get(field), "after": value}
        for field, value in after.items()
        if before.get(field) != value and field not in _BOOKKEEPING
    }


class EventRecorder:
    """The one way a service emits an event. It adds the event to the service's own session,
    so the event commits or rolls back with the change it describes."""

    def __init__(self, context: Context) -> None:
        self.session = context.session
        self.tenant_id = context.workspace_id
        self.actor = context.actor

    def record(
        self, event_type: str, resource_type: str, resource_id: uuid.UUID, data: dict[str, Any]
    ) -> None:
        """Written when the transaction commits (`kit.deferred`): nothing reads an event back
        in the transaction that records it."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"{event_type!r} is not in the event catalogue")
        row = {
            "id": new_id(),
            "tenant_id": self.tenant_id,
            "type": event_type,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "actor_type": self.actor.type,
            "actor_id": self.actor.id,
            "occurred_at": utcnow(),
            "data": to_jsonable_python(data),
        }
        insert_at_commit(self.session, Event, row)

    def record_change(
        self,
        event_type: str,
        resource_type: str,
        resource_id: uuid.UUID,
        record: dict[str, Any],
        before: dict[str, Any] | None = None,
    ) -> None:
        """An event carrying the record as it is now and, given the record as it was
        (`before`), each field that changed; nothing when no field did."""
        data: dict[str, Any] = {"record": record}
        if before is not None:
            data["changes"] = changes_between(before, record)
            if not data["changes"]:
                return
        self.record(event_type, resource_type, resource_id, data)


class EventService:
    def __init__(self, context: Context) -> None:
        self.repo = EventRepository(context.session)

    async def list(self, filters: EventFilters, page: PageRequest) -> tuple[list[Event], PageMeta]:
        return await self.repo.page(filters, page)

    async def about(self, contact_ids: Collection[uuid.UUID]) -> Sequence[Event]:
        """The events of these contacts and of the records naming them as their contact, in
        the order they were written."""
        return await self.repo.about(contact_ids)

    def ids_about(self, contact_ids: Collection[uuid.UUID]) -> Select[Any]:
        """A subquery of the ids of those events (until they are redacted)."""
        return self.repo.ids_about(contact_ids)

    async def redact_about(self, contact_ids: Collection[uuid.UUID]) -> int:
        """An erasure: those events keep their type, time, actor and ids, and their `data`
        becomes `REDACTED`; how many."""
        return await self.repo.redact_about(contact_ids, REDACTED)

    async def get(self, event_id: uuid.UUID) -> Event:
        event = await self.repo.by_id(event_id)
        if event is None:
            raise NotFound("Event not found")
        return event
