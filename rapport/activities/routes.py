"""HTTP routes of activities, a contact's activities (with the legacy spelling), and notes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from rapport.activities.deps import ActivitiesRead, ActivitiesWrite
from rapport.activities.repository import ActivityFilters, ActivityRepository
from rapport.activities.schemas import (
    ActivityCreate,
    ActivityLog,
    ActivityOut,
    ActivityUpdate,
    NoteCreate,
    NoteOut,
    NoteUpdate,
)
from rapport.activities.service import ActivityService
from rapport.contacts.schemas import ContactRef
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import api_router
from rapport.models.activities import ActivityModule, ActivityType

router = api_router(tags=["Activities"])

Page = Annotated[
    PageRequest, Depends(Pagination(ActivityRepository.sort_columns, default_sort="occurredAt"))
]
_CONTACT_404 = documented_errors({404: "No such contact in this workspace"})
_ACTIVITY_404 = documented_errors({404: "No such activity in this workspace"})
_NOTE_404 = documented_errors({404: "No such contact, or no such note of it"})


def _filters(
    activity_type: Annotated[
        list[ActivityType] | None,
        Query(
            alias="type", description="NOTE, CALL, MEETING, EMAIL, TASK, PAGE_VIEW, CUSTOM_EVENT"
        ),
    ] = None,
    module: ActivityModule | None = None,
    since: Annotated[UtcDateTime | None, Query(alias="from", description="At or after")] = None,
    until: Annotated[UtcDateTime | None, Query(alias="to", description="At or before")] = None,
    contact_id: Annotated[uuid.UUID | None, Query(alias="contactId")] = None,
    company_id: Annotated[uuid.UUID | None, Query(alias="companyId")] = None,
) -> ActivityFilters:
    return ActivityFilters(
        contact_id=contact_id,
        company_id=company_id,
        types=tuple(activity_type or ()),
        module=module,
        since=since,
        until=until,
    )


Filters = Annotated[ActivityFilters, Depends(_filters)]


@router.get("/activities", summary="List activities (newest first by default)")
async def list_activities(
    activities: ActivitiesRead, page: Page, filters: Filters
) -> ListEnvelope[ActivityOut]:
    rows, meta = await activities.page(filters, page)
    return ListEnvelope(data=[ActivityOut.of(a) for a in rows], meta=meta)


@router.post("/activities", status_code=201, summary="Log an activity of a contact or company")
async def log_activity(body: ActivityLog, activities: ActivitiesWrite) -> Envelope[ActivityOut]:
    return Envelope(data=ActivityOut.of(await activities.log(body)))


@router.get("/activities/{activity_id}", summary="One activity", responses=_ACTIVITY_404)
async def get_activity(activity_id: uuid.UUID, activities: ActivitiesRead) -> Envelope[ActivityOut]:
    return Envelope(data=ActivityOut.of(await activities.get(activity_id)))


@router.patch("/activities/{activity_id}", summary="Edit an activity", responses=_ACTIVITY_404)
async def update_activity(
    activity_id: uuid.UUID, body: ActivityUpdate, activities: ActivitiesWrite
) -> Envelope[ActivityOut]:

    activity = await activities.update(await activities.get(activity_id), body)
    return Envelope(data=ActivityOut.of(activity))


@router.delete(
    "/activities/{activity_id}",
    status_code=204,
    summary="Delete an activity",
    responses=_ACTIVITY_404,
)
async def delete_activity(activity_id: uuid.UUID, activities: ActivitiesWrite) -> Response:

    await activities.delete(await activities.get(activity_id))
    return Response(status_code=204)


async def _contact_activities(
    ref: str, activities: ActivityService, page: PageRequest, filters: ActivityFilters
) -> ListEnvelope[ActivityOut]:
    rows, meta = await activities.of_contact(ref, filters, page)
    return ListEnvelope(data=[ActivityOut.of(a) for a in rows], meta=meta)


@router.get(
    "/contacts/{ref}/activities",
    tags=["Contacts"],
    summary="The contact's activities (newest first by default)",
    responses=_CONTACT_404,
)
async def list_contact_activities(
    ref: ContactRef, activities: ActivitiesRead, page: Page, filters: Filters
) -> ListEnvelope[ActivityOut]:
    return await _contact_activities(ref, activities, page, filters)


@router.get(
    "/activities/contacts/{ref}",
    deprecated=True,
    summary="Legacy spelling of GET /contacts/{ref}/activities",
    responses=_CONTACT_404,
)
async def list_contact_activities_legacy(
    ref: ContactRef, activities: ActivitiesRead, page: Page, filters: Filters
) -> ListEnvelope[ActivityOut]:
    return await _contact_activities(ref, activities, page, filters)


@router.post(
    "/contacts/{ref}/activities",
    status_code=201,
    tags=["Contacts"],
    summary="Log an activity of the contact",
    responses=_CONTACT_404,
)
async def log_contact_activity(
    ref: ContactRef, body: ActivityCreate, activities: ActivitiesWrite
) -> Envelope[ActivityOut]:
    activity = await activities.log_for_contact(ref, body)
    return Envelope(data=ActivityOut.of(activity))


@router.post(
    "/activities/contacts/{ref}",
    status_code=201,
    deprecated=True,
    summary="Legacy spelling of POST /contacts/{ref}/activities",
    responses=_CONTACT_404,
)
async def log_contact_activity_legacy(
    ref: ContactRef, body: ActivityCreate, activities: ActivitiesWrite
) -> Envelope[ActivityOut]:
    activity = await activities.log_for_contact(ref, body)
    return Envelope(data=ActivityOut.of(activity))


@router.get(
    "/contacts/{ref}/notes",
    tags=["Contacts"],
    summary="The contact's notes (newest first by default)",
    responses=_CONTACT_404,
)
async def list_notes(
    ref: ContactRef, activities: ActivitiesRead, page: Page
) -> ListEnvelope[NoteOut]:
    filters = ActivityFilters(types=(ActivityType.NOTE,))
    rows, meta = await activities.of_contact(ref, filters, page)
    return ListEnvelope(data=[NoteOut.of(n) for n in rows], meta=meta)


@router.post(
    "/contacts/{ref}/notes",
    status_code=201,
    tags=["Contacts"],
    summary="Add a note to the contact",
    responses=_CONTACT_404,
)
async def add_note(
    ref: ContactRef, body: NoteCreate, activities: ActivitiesWrite
) -> Envelope[NoteOut]:
    return Envelope(data=NoteOut.of(await activities.add_note(ref, body)))


@router.get(
    "/contacts/{ref}/notes/{note_id}", tags=["Contacts"], summary="One note", responses=_NOTE_404
)
async def get_note(
    ref: ContactRef, note_id: uuid.UUID, activities: ActivitiesRead
) -> Envelope[NoteOut]:
    return Envelope(data=NoteOut.of(await activities.note(ref, note_id)))


@router.patch(
    "/contacts/{ref}/notes/{note_id}", tags=["Contacts"], summary="Edit a note", responses=_NOTE_404
)
async def update_note(
    ref: ContactRef, note_id: uuid.UUID, body: NoteUpdate, activities: ActivitiesWrite
) -> Envelope[NoteOut]:

    note = await activities.update(await activities.note(ref, note_id), body)
    return Envelope(data=NoteOut.of(note))


@router.delete(
    "/contacts/{ref}/notes/{note_id}",
    status_code=204,
    tags=["Contacts"],
    summary="Delete a note",
    responses=_NOTE_404,
)
async def delete_note(ref: ContactRef, note_id: uuid.UUID, activities: ActivitiesWrite) -> Response:

    await activities.delete(await activities.note(ref, note_id))
    return Response(status_code=204)
