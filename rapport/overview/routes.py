"""HTTP routes of the read views: the lists of contacts and companies (filters through
relations), one contact with its companies, tags and activity count, its timeline, its summary."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from rapport.auth.dependencies import OwnerQuery
from rapport.auth.service import owner_filter
from rapport.companies.filters import CompanyFilters
from rapport.companies.schemas import CompanyOut
from rapport.companies.service import CompanyService
from rapport.contacts.filters import ContactFilters
from rapport.contacts.responses import CONTACT_NOT_FOUND, WITH_ETAG
from rapport.contacts.schemas import ContactOut, ContactRef
from rapport.contacts.service import ContactService
from rapport.kit.envelope import Envelope, ListEnvelope, one_record
from rapport.kit.etag import NOT_MODIFIED, IfNoneMatch, not_modified
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.query import CreatedFrom, CreatedTo, WhereQuery
from rapport.kit.session import api_router
from rapport.models.activities import ActivityModule
from rapport.models.companies import CompanyRole, CompanyStatus
from rapport.models.contacts import ContactStatus, LifecycleStage
from rapport.overview.deps import OverviewRead
from rapport.overview.schemas import ContactDetail, ContactSummary, TimelineItem

router = api_router(prefix="/contacts", tags=["Contacts"])
companies_router = api_router(prefix="/companies", tags=["Companies"])

TagQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="Carrying this tag (its id, or its key in any case)",
    ),
]
TimelinePage = Annotated[
    PageRequest, Depends(Pagination(("occurredAt",), default_sort="occurredAt"))
]


@router.get("", summary="List contacts (deleted or merged ones only with status=DELETED or MERGED)")
async def list_contacts(
    overview: OverviewRead,
    page: Annotated[PageRequest, Depends(Pagination(ContactService.sort_fields))],
    search: Annotated[
        str | None, Query(max_length=200, description="Substring of name, email or phone")
    ] = None,
    email: Annotated[
        str | None, Query(max_length=320, description="The contact with this email (any case)")
    ] = None,
    external_id: Annotated[
        str | None,
        Query(alias="externalId", max_length=255, description="The contact with this externalId"),
    ] = None,
    status: Annotated[
        ContactStatus | None,
        Query(
            description="Only contacts with this status; without it, every contact except "
            "DELETED and MERGED ones"
        ),
    ] = None,
    lifecycle_stage: Annotated[
        LifecycleStage | None,
        Query(alias="lifecycleStage", description="Only contacts at this lifecycle stage"),
    ] = None,
    is_identified: Annotated[
        bool | None,
        Query(
            alias="isIdentified",
            description="true: contacts with an email or an externalId; false: those with neither",
        ),
    ] = None,
    owner_user_id: OwnerQuery = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    company_id: Annotated[
        uuid.UUID | None, Query(alias="companyId", description="Members of this company")
    ] = None,
    tag: TagQuery = None,
    module: Annotated[
        ActivityModule | None,
        Query(description="Active in this module: with at least one activity logged in it"),
    ] = None,
    where: WhereQuery = None,
) -> ListEnvelope[ContactOut]:
    """List the workspace's contacts, ARCHIVED ones included; DELETED and MERGED contacts
    appear only when asked for with `status`. Every filter given must hold. `email` is
    compared as stored (lowercase) and an invalid email is refused with 400; `tag` takes a
    tag's id or its key in any case, and a tag that does not exist gives an empty list."""
    filters = ContactFilters(
        search=search,
        email=email,
        external_id=external_id,
        status=status,
        lifecycle_stage=lifecycle_stage,
        is_identified=is_identified,
        created_from=created_from,
        created_to=created_to,
        **await owner_filter(overview.context, owner_user_id),
    )
    rows, meta = await overview.contacts_page(
        filters, page, company_id=company_id, module=module, tag=tag, where=where
    )
    return ListEnvelope(data=[ContactOut.model_validate(r) for r in rows], meta=meta)


@router.get(
    "/{ref}",
    summary="Get a contact by id, email or externalId, with its companies, tags and activity count",
    response_model=Envelope[ContactDetail],
    responses={**CONTACT_NOT_FOUND, **WITH_ETAG, **NOT_MODIFIED},
)
async def get_contact(
    ref: ContactRef, overview: OverviewRead, if_none_match: IfNoneMatch = None
) -> Response:
    """One contact with its companies (the primary one first), its tags and how many
    activities it has. The reference is tried as an id, then as an email (when it contains
    @), then as an externalId; a live contact is preferred to a deleted one with the same
    email or externalId. A contact merged into another answers with the contact it was merged
    into, so check `id`. Send the ETag back in `If-None-Match` to get a 304 while nothing
    changed, or in `If-Match` when updating."""
    etag, detail = await overview.detail(ref)
    return not_modified(if_none_match, etag) or one_record(detail, headers={"ETag": etag})


@router.get(
    "/{ref}/timeline",
    summary="Everything that happened to the contact: activities, notes and changes, newest first",
    responses=CONTACT_NOT_FOUND,
)
async def contact_timeline(
    ref: ContactRef, overview: OverviewRead, page: TimelinePage
) -> ListEnvelope[TimelineItem]:
    """The contact's activities (notes included) and change events in one list, newest
    first, or oldest first with sortOrder=asc; those of contacts merged into it are included.
    Each item carries either `activity` or `event`, as `kind` says. The timeline pages by
    offset only (page/limit or skip/take); a cursor is refused with 400."""
    items, meta = await overview.timeline(ref, page)
    return ListEnvelope(data=items, meta=meta)


@router.get(
    "/{ref}/summary",
    summary="One-view summary: companies, tags, activity and open task counts",
    responses=CONTACT_NOT_FOUND,
)
async def contact_summary(ref: ContactRef, overview: OverviewRead) -> Envelope[ContactSummary]:
    """A compact view of the contact for a sidebar or a card: its main fields, companies
    (primary first), tag keys, activity count and open task count (tasks that are open or in
    progress). The contact is named as on GET /contacts/{ref}: id, email or externalId; a
    merged contact answers with the contact it was merged into."""
    return Envelope(data=await overview.summary(ref))


@companies_router.get("", summary="List companies")
async def list_companies(
    overview: OverviewRead,
    page: Annotated[PageRequest, Depends(Pagination(CompanyService.sort_fields))],
    search: Annotated[
        str | None, Query(max_length=200, description="Substring of the name or domain")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Alias of search")] = None,
    role: Annotated[
        CompanyRole | None,
        Query(description="Only companies with this commercial relationship"),
    ] = None,
    status: Annotated[
        CompanyStatus | None,
        Query(description="Only active or only inactive companies (by default, both)"),
    ] = None,
    owner_user_id: OwnerQuery = None,
    industry: Annotated[
        str | None,
        Query(max_length=200, description="Exactly this industry (case matters)"),
    ] = None,
    size: Annotated[
        str | None,
        Query(max_length=50, description="Exactly this size band, such as `51-200`"),
    ] = None,
    domain: Annotated[
        str | None,
        Query(
            max_length=300,
            description="The company with this domain, written any way (`https://www.Acme.com`)",
        ),
    ] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    tag: TagQuery = None,
    where: WhereQuery = None,
) -> ListEnvelope[CompanyOut]:
    """List the workspace's companies, active and inactive. Every filter given must hold.
    `search` (or its alias `q`; `search` wins when both are sent) matches part of the name or
    domain without regard to case; `domain` is normalised as on create, and an invalid domain
    is refused with 400. `tag` takes a tag's id or its key in any case; a tag that does not
    exist gives an empty list."""
    filters = CompanyFilters(
        search=search or q,
        role=role,
        status=status,
        industry=industry,
        size=size,
        domain=domain,
        created_from=created_from,
        created_to=created_to,
        **await owner_filter(overview.context, owner_user_id),
    )
    rows, meta = await overview.companies_page(filters, page, tag=tag, where=where)
    return ListEnvelope(data=[CompanyOut.model_validate(c) for c in rows], meta=meta)
