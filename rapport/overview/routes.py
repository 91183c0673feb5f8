"""HTTP routes of the views of one contact: the contact with its companies, tags and activity
count, its timeline, its summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response

from rapport.contacts.responses import CONTACT_NOT_FOUND, WITH_ETAG
from rapport.contacts.schemas import ContactRef
from rapport.contacts.service import contact_etag
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.overview.deps import OverviewRead
from rapport.overview.schemas import ContactDetail, ContactSummary, TimelineItem

router = api_router(prefix="/contacts", tags=["Contacts"])

TimelinePage = Annotated[
    PageRequest, Depends(Pagination(("occurredAt",), default_sort="occurredAt"))
]


@router.get(
    "/{ref}",
    summary="Get a contact by id, email or externalId, with its companies, tags and activity count",
    responses={**CONTACT_NOT_FOUND, **WITH_ETAG},
)
async def get_contact(
    ref: ContactRef, overview: OverviewRead, response: Response
) -> Envelope[ContactDetail]:
    contact, detail = await overview.detail(ref)
    response.headers["ETag"] = contact_etag(contact)
    return Envelope(data=detail)


@router.get(
    "/{ref}/timeline",
    summary="Everything that happened to the contact: activities, notes and changes, newest first",
    responses=CONTACT_NOT_FOUND,
)
async def contact_timeline(
    ref: ContactRef, overview: OverviewRead, page: TimelinePage
) -> ListEnvelope[TimelineItem]:
    items, meta = await overview.timeline(ref, page)
    return ListEnvelope(data=items, meta=meta)


@router.get(
    "/{ref}/summary",
    summary="One-view summary: companies, tags, activity and open task counts",
    responses=CONTACT_NOT_FOUND,
)
async def contact_summary(ref: ContactRef, overview: OverviewRead) -> Envelope[ContactSummary]:
    return Envelope(data=await overview.summary(ref))
