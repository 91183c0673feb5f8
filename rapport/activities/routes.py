"""HTTP routes of activities, a contact's activities (with the legacy spelling), and notes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Response

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

ActivityId = Annotated[uuid.UUID, Path(description="The activity's id")]
NoteId = Annotated[
    uuid.UUID, Path(description="The note's id: the id of an activity of type NOTE of the contact")
]


def _filters(
    activity_type: Annotated[
        list[ActivityType] | None,
        Query(
            alias="type",
            description="Only these types (any case): NOTE, CALL, MEETING, EMAIL, TASK, "
            "PAGE_VIEW, CUSTOM_EVENT; repeat to combine",
        ),
    ] = None,
    module: Annotated[
        ActivityModule | None,
        Query(description="Only activities logged in this module (CRM, SUPPORT, INTEGRATION)"),
    ] = None,
    since: Annotated[
        UtcDateTime | None, Query(alias="from", description="occurredAt at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        UtcDateTime | None, Query(alias="to", description="occurredAt at or before (ISO 8601)")
    ] = None,
    contact_id: Annotated[
        uuid.UUID | None,
        Query(
            alias="contactId",
            description="Only activities of this contact (its id); ignored where the path "
            "names the contact (/contacts/{ref}/activities and its legacy spelling)",
        ),
    ] = None,
    company_id: Annotated[
        uuid.UUID | None,
        Query(alias="companyId", description="Only activities linked to this company (its id)"),
    ] = None,
    lead_id: Annotated[
        uuid.UUID | None,
        Query(alias="leadId", description="Only activities logged on this lead (its id)"),
    ] = None,
) -> ActivityFilters:
    return ActivityFilters(
        contact_id=contact_id,
        company_id=company_id,
        lead_id=lead_id,
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
    """Activities of the workspace, latest `occurredAt` first unless the sort says otherwise.

    An activity is something that happened with a contact and/or a company: a call, meeting,
    email, note (type NOTE, also served under /contacts/{ref}/notes), task, page view or custom
    event, logged in a module (CRM, SUPPORT or INTEGRATION). Filters combine: `type` may be
    repeated, `from` and `to` bound `occurredAt` inclusively, and `contactId` / `companyId` /
    `leadId` match the ids stored on the activity (a merge moves a contact's activities to the
    contact it was merged into).
    """
    rows, meta = await activities.page(filters, page)
    return ListEnvelope(data=[ActivityOut.of(a) for a in rows], meta=meta)


@router.post(
    "/activities", status_code=201, summary="Log an activity of a contact, company or lead"
)
async def log_activity(body: ActivityLog, activities: ActivitiesWrite) -> Envelope[ActivityOut]:
    """Logs something that happened with a contact, a company and/or a lead.

    At least one of `contactId`, `companyId` and `leadId` is required (otherwise a 422 on
    `contactId`), and each must be a record of this workspace; an activity of a lead is linked
    to the lead's contact and company too, unless the body names others; the id of a merged
    contact logs the activity on the contact it was merged into. `type` and `module` are
    accepted in any case, and a NOTE needs non-blank `content`. `occurredAt` defaults to now
    and moves the contact's `lastActivityAt` forward (never back). Emits `activity.created`.
    """
    return Envelope(data=ActivityOut.of(await activities.log(body)))


@router.get("/activities/{activity_id}", summary="One activity", responses=_ACTIVITY_404)
async def get_activity(
    activity_id: ActivityId, activities: ActivitiesRead
) -> Envelope[ActivityOut]:
    """One activity of the workspace, whatever its type (notes included)."""
    return Envelope(data=ActivityOut.of(await activities.get(activity_id)))


@router.patch("/activities/{activity_id}", summary="Edit an activity", responses=_ACTIVITY_404)
async def update_activity(
    activity_id: ActivityId, body: ActivityUpdate, activities: ActivitiesWrite
) -> Envelope[ActivityOut]:
    """Changes the fields sent; the fields left out keep their value.

    The contact, company, lead and module of an activity cannot be changed (log a new one
    instead). `type`, `occurredAt` and `properties` cannot be null, `properties` replaces the
    whole object, and a NOTE (or an activity changed to one) must keep non-blank `content`.
    A later `occurredAt` moves the contact's `lastActivityAt` forward. A body that changes
    nothing emits nothing; otherwise `activity.updated` carries each changed field.
    """
    activity = await activities.update(await activities.get(activity_id), body)
    return Envelope(data=ActivityOut.of(activity))


@router.delete(
    "/activities/{activity_id}",
    status_code=204,
    summary="Delete an activity",
    responses=_ACTIVITY_404,
)
async def delete_activity(activity_id: ActivityId, activities: ActivitiesWrite) -> Response:
    """Deletes the activity for good (a note as well) and emits `activity.deleted` with the
    activity as it was. The contact's `lastActivityAt` is not moved back."""
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
    """The activities of one contact, notes included, latest `occurredAt` first by default.

    The contact is named by id, email or externalId; a merged contact's reference gives the
    activities of the contact it was merged into. The filters are those of GET /activities,
    except `contactId`, which is ignored here.
    """
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
    """Deprecated: the same operation as GET /contacts/{ref}/activities (same parameters and
    answers), kept for clients written against this older path. Use the other path in new
    code."""
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
    """Logs an activity of the contact the path names (id, email or externalId; a merged
    contact's reference logs it on the contact it was merged into).

    The body is that of POST /activities without `contactId`; a `companyId`, if sent, must be
    a company of this workspace. A NOTE needs non-blank `content`. `occurredAt` defaults to
    now and moves the contact's `lastActivityAt` forward. Emits `activity.created`.
    """
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
    """Deprecated: the same operation as POST /contacts/{ref}/activities (same body and
    answers), kept for clients written against this older path. Use the other path in new
    code."""
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
    """The contact's notes: its activities of type NOTE, latest first by default, in a
    smaller shape (content, subject, author). A merged contact's reference lists the notes of
    the contact it was merged into, which a merge moved there."""
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
    """Adds a note to the contact: an activity of type NOTE in module CRM, occurring now, so it
    also appears among the contact's activities and moves its `lastActivityAt`. A merged
    contact's reference adds it to the contact it was merged into. Emits `activity.created`."""
    return Envelope(data=NoteOut.of(await activities.add_note(ref, body)))


@router.get(
    "/contacts/{ref}/notes/{note_id}", tags=["Contacts"], summary="One note", responses=_NOTE_404
)
async def get_note(
    ref: ContactRef, note_id: NoteId, activities: ActivitiesRead
) -> Envelope[NoteOut]:
    """One note of the contact. A 404 answers an id that is not an activity of type NOTE of
    this contact (or of the contact it was merged into), even if the activity exists."""
    return Envelope(data=NoteOut.of(await activities.note(ref, note_id)))


@router.patch(
    "/contacts/{ref}/notes/{note_id}", tags=["Contacts"], summary="Edit a note", responses=_NOTE_404
)
async def update_note(
    ref: ContactRef, note_id: NoteId, body: NoteUpdate, activities: ActivitiesWrite
) -> Envelope[NoteOut]:
    """Changes the note's `content` and/or `subject`; the content cannot be null or blank.
    A body that changes nothing emits nothing; otherwise `activity.updated` carries each
    changed field."""
    note = await activities.update(await activities.note(ref, note_id), body)
    return Envelope(data=NoteOut.of(note))


@router.delete(
    "/contacts/{ref}/notes/{note_id}",
    status_code=204,
    tags=["Contacts"],
    summary="Delete a note",
    responses=_NOTE_404,
)
async def delete_note(ref: ContactRef, note_id: NoteId, activities: ActivitiesWrite) -> Response:
    """Deletes the note for good (it leaves the contact's activities too) and emits
    `activity.deleted`. The contact's `lastActivityAt` is not moved back."""
    await activities.delete(await activities.note(ref, note_id))
    return Response(status_code=204)
