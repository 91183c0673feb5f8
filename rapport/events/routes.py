"""HTTP routes of the event log (the audit log of who changed what)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query

from rapport.events.deps import Events
from rapport.events.repository import EventFilters, EventRepository
from rapport.events.schemas import EventOut
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import api_router

router = api_router(prefix="/events", tags=["Events"])

EventId = Annotated[uuid.UUID, Path(description="The event's id")]


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
    resource_id: Annotated[
        uuid.UUID | None,
        Query(alias="resourceId", description="Only events of this record (its id)"),
    ] = None,
    resource_type: Annotated[
        str | None,
        Query(
            alias="resourceType",
            max_length=50,
            description="Only events of this kind of record: contact, company, "
            "company_membership, activity, task, tag, property or webhook",
        ),
    ] = None,
    actor_id: Annotated[
        uuid.UUID | None,
        Query(
            alias="actorId",
            description="Only events caused by this API key or user (the id in `actor.id`)",
        ),
    ] = None,
) -> ListEnvelope[EventOut]:
    """The workspace's audit log: one event per change, latest first (by `sequence`) unless
    the sort says otherwise.

    Each event names its type, the record it concerns and who caused it (an API key, a user,
    or `system` for the command line and background jobs), and carries the record after the
    change (as it was, for a deletion) with, for updates, each changed field before and after.
    `type` takes exact types or families such as `contact.*` (a lone `*` is no wildcard
    here), and an unknown type matches nothing. Webhook deliveries carry these same events.
    """
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
async def get_event(event_id: EventId, events: Events) -> Envelope[EventOut]:
    """One event of the workspace's audit log: the same document a webhook delivery of it
    carries in its body (which adds `workspaceId`)."""
    return Envelope(data=EventOut.of(await events.get(event_id)))
