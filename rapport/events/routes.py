"""HTTP routes of the event log (the audit log of who changed what)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from rapport.events.deps import Events
from rapport.events.repository import EventFilters, EventRepository
from rapport.events.schemas import EventOut
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import api_router

router = api_router(prefix="/events", tags=["Events"])


@router.get("", summary="List events, newest first by default (the audit log)")
async def list_events(
    events: Events,
    page: Annotated[
        PageRequest,
        Depends(Pagination(EventRepository.sort_columns, default_sort="sequence")),
    ],
    event_type: Annotated[
        list[str] | None,
        Query(
            alias="type",
            description="Event type, or a family such as `contact.*`; repeat to combine",
            max_length=20,
        ),
    ] = None,
    since: Annotated[UtcDateTime | None, Query(description="Occurred at or after")] = None,
    until: Annotated[UtcDateTime | None, Query(description="Occurred at or before")] = None,
    resource_id: Annotated[uuid.UUID | None, Query(alias="resourceId")] = None,
    resource_type: Annotated[str | None, Query(alias="resourceType", max_length=50)] = None,
    actor_id: Annotated[uuid.UUID | None, Query(alias="actorId")] = None,
) -> ListEnvelope[EventOut]:
    filters = EventFilters(
        types=tuple(t for t in event_type or () if t),
        since=since,
        until=until,
        resource_id=resource_id,
        resource_type=resource_type,
        actor_id=actor_id,
    )
    rows, meta = await events.list(filters, page)
    return ListEnvelope(data=[EventOut.of(e) for e in rows], meta=meta)


@router.get("/{event_id}", summary="One event")
async def get_event(event_id: uuid.UUID, events: Events) -> Envelope[EventOut]:
    return Envelope(data=EventOut.of(await events.get(event_id)))
