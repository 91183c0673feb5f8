"""HTTP routes of activities, a contact's activities (with the legacy spelling), and notes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

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
from rapport.auth.dependencies import Authenticator
from rapport.auth.principal import Principal
from rapport.auth.scopes import Scope
from rapport.contacts.schemas import ContactRef
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import DbSession, api_router
from rapport.models import ActivityModule, ActivityType

router = api_router(tags=["Activities"])

Reader = Annotated[Principal, Depends(Authenticator(Scope.CRM_READ))]
Writer = Annotated[Principal, Depends(Authenticator(Scope.CRM_WRITE))]
Page = Annotated[
    PageRequest, Depends(Pagination(ActivityRepository.sort_columns, default_sort="occurredAt"))
]
_CONTACT_404 = documented_errors({404: "No such contact in this workspace"})
_ACTIVITY_404 = documented_errors({404: "No such activity in this workspace"})
_NOTE_404 = documented_errors({404: "No such contact, or no such note of it"})


def _service(db: DbSession, principal: Principal) -> ActivityService:
    return ActivityService(db, principal.tenant_id, principal.tenant_settings, principal.actor)


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
    db: DbSession, principal: Reader, page: Page, filters: Filters
) -> ListEnvelope[ActivityOut]:
    rows, meta = await _service(db, principal).page(filters, page)
    return ListEnvelope(data=[ActivityOut.of(a) for a in rows], meta=meta)


@router.post("/activities", status_code=201, summary="Log an activity of a contact or company")
async def log_activity(
    body: ActivityLog, db: DbSession, principal: Writer
) -> Envelope[ActivityOut]:
    return Envelope(data=ActivityOut.of(await _service(db, principal).log(body)))


@router.get("/activities/{activity_id}", summary="One activity", responses=_ACTIVITY_404)
async def get_activity(
    activity_id: uuid.UUID, db: DbSession, principal: Reader
) -> Envelope[ActivityOut]:
    return Envelope(data=ActivityOut.of(await _service(db, principal).get(activity_id)))


@router.patch("/activities/{activity_id}", summary="Edit an activity", responses=_ACTIVITY_404)
async def update_activity(
    activity_id: uuid.UUID, body: ActivityUpdate, db: DbSession, principal: Writer
) -> Envelope[ActivityOut]:
    service = _service(db, principal)
    activity = await service.update(await service.get(activity_id), body)
    return Envelope(data=ActivityOut.of(activity))


@router.delete(
    "/activities/{activity_id}",
    status_code=204,
    summary="Delete an activity",
    responses=_ACTIVITY_404,
)
async def delete_activity(activity_id: uuid.UUID, db: DbSession, principal: Writer) -> Response:
    service = _service(db, principal)
    await service.delete(await service.get(activity_id))
    return Response(status_code=204)


async def _contact_activities(
    ref: str, db: DbSession, principal: Principal, page: PageRequest, filters: ActivityFilters
) -> ListEnvelope[ActivityOut]:
    rows, meta = await _service(db, principal).of_contact(ref, filters, page)
    return ListEnvelope(data=[ActivityOut.of(a) for a in rows], meta=meta)


@router.get(
    "/contacts/{ref}/activities",
    tags=["Contacts"],
    summary="The contact's activities (newest first by default)",
    responses=_CONTACT_404,
)
async def list_contact_activities(
    ref: ContactRef, db: DbSession, principal: Reader, page: Page, filters: Filters
) -> ListEnvelope[ActivityOut]:
    return await _contact_activities(ref, db, principal, page, filters)


@router.get(
    "/activities/contacts/{ref}",
    deprecated=True,
    summary="Legacy spelling of GET /contacts/{ref}/activities",
    responses=_CONTACT_404,
)
async def list_contact_activities_legacy(
    ref: ContactRef, db: DbSession, principal: Reader, page: Page, filters: Filters
) -> ListEnvelope[ActivityOut]:
    return await _contact_activities(ref, db, principal, page, filters)


@router.post(
    "/contacts/{ref}/activities",
    status_code=201,
    tags=["Contacts"],
    summary="Log an activity of the contact",
    responses=_CONTACT_404,
)
async def log_contact_activity(
    ref: ContactRef, body: ActivityCreate, db: DbSession, principal: Writer
) -> Envelope[ActivityOut]:
    activity = await _service(db, principal).log_for_contact(ref, body)
    return Envelope(data=ActivityOut.of(activity))


@router.post(
    "/activities/contacts/{ref}",
    status_code=201,
    deprecated=True,
    summary="Legacy spelling of POST /contacts/{ref}/activities",
    responses=_CONTACT_404,
)
async def log_contact_activity_legacy(
    ref: ContactRef, body: ActivityCreate, db: DbSession, principal: Writer
) -> Envelope[ActivityOut]:
    activity = await _service(db, principal).log_for_contact(ref, body)
    return Envelope(data=ActivityOut.of(activity))


@router.get(
    "/contacts/{ref}/notes",
    tags=["Contacts"],
    summary="The contact's notes (newest first by default)",
    responses=_CONTACT_404,
)
async def list_notes(
    ref: ContactRef, db: DbSession, principal: Reader, page: Page
) -> ListEnvelope[NoteOut]:
    filters = ActivityFilters(types=(ActivityType.NOTE,))
    rows, meta = await _service(db, principal).of_contact(ref, filters, page)
    return ListEnvelope(data=[NoteOut.of(n) for n in rows], meta=meta)


@router.post(
    "/contacts/{ref}/notes",
    status_code=201,
    tags=["Contacts"],
    summary="Add a note to the contact",
    responses=_CONTACT_404,
)
async def add_note(
    ref: ContactRef, body: NoteCreate, db: DbSession, principal: Writer
) -> Envelope[NoteOut]:
    return Envelope(data=NoteOut.of(await _service(db, principal).add_note(ref, body)))


@router.get(
    "/contacts/{ref}/notes/{note_id}", tags=["Contacts"], summary="One note", responses=_NOTE_404
)
async def get_note(
    ref: ContactRef, note_id: uuid.UUID, db: DbSession, principal: Reader
) -> Envelope[NoteOut]:
    return Envelope(data=NoteOut.of(await _service(db, principal).note(ref, note_id)))


@router.patch(
    "/contacts/{ref}/notes/{note_id}", tags=["Contacts"], summary="Edit a note", responses=_NOTE_404
)
async def update_note(
    ref: ContactRef, note_id: uuid.UUID, body: NoteUpdate, db: DbSession, principal: Writer
) -> Envelope[NoteOut]:
    service = _service(db, principal)
    note = await service.update(await service.note(ref, note_id), body)
    return Envelope(data=NoteOut.of(note))


@router.delete(
    "/contacts/{ref}/notes/{note_id}",
    status_code=204,
    tags=["Contacts"],
    summary="Delete a note",
    responses=_NOTE_404,
)
async def delete_note(
    ref: ContactRef, note_id: uuid.UUID, db: DbSession, principal: Writer
) -> Response:
    service = _service(db, principal)
    await service.delete(await service.note(ref, note_id))
    return Response(status_code=204)
