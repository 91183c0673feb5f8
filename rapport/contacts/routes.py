"""HTTP routes of contacts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Response

from rapport.auth.dependencies import Authenticator
from rapport.auth.principal import Principal
from rapport.auth.scopes import Scope
from rapport.contacts.merge import ContactMerger
from rapport.contacts.overview import ContactOverview
from rapport.contacts.repository import ContactFilters, ContactRepository
from rapport.contacts.schemas import (
    ContactDetail,
    ContactOut,
    ContactRef,
    ContactSummary,
    ContactUpdate,
    ContactUpsert,
    MergeRequest,
    ResolveCandidate,
    ResolveRequest,
    ResolveResult,
    TimelineItem,
)
from rapport.contacts.service import ContactService, contact_etag
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import DbSession, api_router
from rapport.models import ActivityModule, Contact, ContactStatus, LifecycleStage

router = api_router(prefix="/contacts", tags=["Contacts"])

Reader = Annotated[Principal, Depends(Authenticator(Scope.CRM_READ))]
Writer = Annotated[Principal, Depends(Authenticator(Scope.CRM_WRITE))]
Admin = Annotated[Principal, Depends(Authenticator(Scope.CRM_ADMIN))]
TimelinePage = Annotated[
    PageRequest, Depends(Pagination(("occurredAt",), default_sort="occurredAt"))
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag of the version you read; 412 if it changed"),
]
_NOT_FOUND = documented_errors({404: "No such contact in this workspace"})
_CONFLICT = documented_errors({409: "CONTACT_EMAIL_EXISTS or CONTACT_EXTERNAL_ID_EXISTS"})
_ETAG_HEADER = {
    "ETag": {"description": "Send back in If-Match to update safely", "schema": {"type": "string"}}
}
_WITH_ETAG: dict[int | str, dict[str, Any]] = {200: {"headers": _ETAG_HEADER}}
_CREATED_WITH_ETAG: dict[int | str, dict[str, Any]] = {201: {"headers": _ETAG_HEADER}}
_PRECONDITION = documented_errors(
    {412: "If-Match no longer matches the ETag (PRECONDITION_FAILED)"}
)


def _service(db: DbSession, principal: Principal) -> ContactService:
    return ContactService(db, principal.tenant_id, principal.tenant_settings, principal.actor)


def _one(contact: Contact, response: Response) -> Envelope[ContactOut]:
    response.headers["ETag"] = contact_etag(contact)
    return Envelope(data=ContactOut.model_validate(contact))


@router.get("", summary="List contacts (deleted or merged ones only with status=DELETED or MERGED)")
async def list_contacts(
    db: DbSession,
    principal: Reader,
    page: Annotated[PageRequest, Depends(Pagination(ContactRepository.sort_columns))],
    search: Annotated[
        str | None, Query(max_length=200, description="Substring of name, email or phone")
    ] = None,
    status: ContactStatus | None = None,
    lifecycle_stage: Annotated[LifecycleStage | None, Query(alias="lifecycleStage")] = None,
    is_identified: Annotated[bool | None, Query(alias="isIdentified")] = None,
    created_from: Annotated[
        UtcDateTime | None, Query(alias="from", description="Created at or after (ISO 8601)")
    ] = None,
    created_to: Annotated[
        UtcDateTime | None, Query(alias="to", description="Created at or before (ISO 8601)")
    ] = None,
    company_id: Annotated[
        uuid.UUID | None, Query(alias="companyId", description="Members of this company")
    ] = None,
    module: Annotated[
        ActivityModule | None,
        Query(description="Active in this module: with at least one activity logged in it"),
    ] = None,
) -> ListEnvelope[ContactOut]:
    filters = ContactFilters(
        company_id=company_id,
        module=module,
        search=search,
        status=status,
        lifecycle_stage=lifecycle_stage,
        is_identified=is_identified,
        created_from=created_from,
        created_to=created_to,
    )
    rows, meta = await _service(db, principal).page(filters, page)
    return ListEnvelope(data=[ContactOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "",
    status_code=201,
    summary="Create a contact (with `upsert`, update the one with its externalId or email)",
    responses={
        **_CONFLICT,
        **_CREATED_WITH_ETAG,
        200: {"description": "`upsert`: an existing contact was updated", "headers": _ETAG_HEADER},
    },
)
async def create_contact(
    body: ContactUpsert, db: DbSession, principal: Writer, response: Response
) -> Envelope[ContactOut]:
    contact, created = await _service(db, principal).save(body)
    response.headers["Location"] = f"/api/v1/contacts/{contact.id}"
    response.status_code = 201 if created else 200
    return _one(contact, response)


@router.get("/search", summary="Typeahead: contacts whose name, email or phone contain q")
async def search_contacts(
    db: DbSession,
    principal: Reader,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"\S")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ListEnvelope[ContactOut]:
    rows, meta = await _service(db, principal).search(q, limit)
    return ListEnvelope(data=[ContactOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "/resolve",
    summary="Identity resolution: the contact matching an email, phone, externalId or name",
)
async def resolve_contact(
    body: ResolveRequest, db: DbSession, principal: Reader
) -> Envelope[ResolveResult]:
    match, candidates = await _service(db, principal).resolve(body)
    return Envelope(
        data=ResolveResult(
            match=ContactOut.model_validate(match) if match else None,
            candidates=[
                ResolveCandidate(
                    contact=ContactOut.model_validate(c.contact), score=c.score, reasons=c.reasons
                )
                for c in candidates
            ],
        )
    )


@router.get(
    "/{ref}",
    summary="Get a contact by id, email or externalId, with its companies, tags and activity count",
    responses={**_NOT_FOUND, **_WITH_ETAG},
)
async def get_contact(
    ref: ContactRef, db: DbSession, principal: Reader, response: Response
) -> Envelope[ContactDetail]:
    contact, detail = await _overview(db, principal).detail(ref)
    response.headers["ETag"] = contact_etag(contact)
    return Envelope(data=detail)


@router.patch(
    "/{ref}",
    summary="Update a contact (properties merge key by key)",
    responses={**_NOT_FOUND, **_CONFLICT, **_PRECONDITION, **_WITH_ETAG},
)
async def update_contact(
    ref: ContactRef,
    body: ContactUpdate,
    db: DbSession,
    principal: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> Envelope[ContactOut]:
    return _one(await _service(db, principal).update(ref, body, if_match), response)


@router.delete(
    "/{ref}",
    summary="Soft-delete a contact (status becomes DELETED); returns the record",
    responses={**_NOT_FOUND, **_PRECONDITION, **_WITH_ETAG},
)
async def delete_contact(
    ref: ContactRef, db: DbSession, principal: Writer, response: Response, if_match: IfMatch = None
) -> Envelope[ContactOut]:
    return _one(await _service(db, principal).delete(ref, if_match), response)


@router.post(
    "/{ref}/merge",
    summary="Merge another contact into this one (the loser stays, as MERGED)",
    responses={
        **_NOT_FOUND,
        **documented_errors(
            {400: "Merging with itself, or a contact already merged (INVALID_REQUEST)"}
        ),
        **_WITH_ETAG,
    },
)
async def merge_contacts(
    ref: ContactRef, body: MergeRequest, db: DbSession, principal: Admin, response: Response
) -> Envelope[ContactOut]:
    merger = ContactMerger(db, principal.tenant_id, principal.tenant_settings, principal.actor)
    return _one(await merger.merge(ref, body.loser_id), response)


@router.get(
    "/{ref}/timeline",
    summary="Everything that happened to the contact: activities, notes and changes, newest first",
    responses=_NOT_FOUND,
)
async def contact_timeline(
    ref: ContactRef, db: DbSession, principal: Reader, page: TimelinePage
) -> ListEnvelope[TimelineItem]:
    items, meta = await _overview(db, principal).timeline(ref, page)
    return ListEnvelope(data=items, meta=meta)


@router.get(
    "/{ref}/summary",
    summary="One-view summary: companies, tags, activity and open task counts",
    responses=_NOT_FOUND,
)
async def contact_summary(
    ref: ContactRef, db: DbSession, principal: Reader
) -> Envelope[ContactSummary]:
    return Envelope(data=await _overview(db, principal).summary(ref))


def _overview(db: DbSession, principal: Principal) -> ContactOverview:
    return ContactOverview(db, principal.tenant_id, principal.tenant_settings)
