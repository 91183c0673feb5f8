"""HTTP routes of companies, and of a contact's companies (two spellings of memberships)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from rapport.companies.deps import (
    CompaniesBulk,
    CompaniesRead,
    CompaniesWrite,
    MembershipsRead,
    MembershipsWrite,
)
from rapport.companies.filters import CompanyFilters
from rapport.companies.repository import CompanyRepository, MembershipRepository
from rapport.companies.schemas import (
    CompanyBatch,
    CompanyContactOut,
    CompanyCreate,
    CompanyOut,
    CompanyRef,
    CompanyUpdate,
    ContactCompanyOut,
    MembershipCreate,
    MembershipOut,
    MembershipUpdate,
)
from rapport.companies.service import company_etag
from rapport.contacts.schemas import ContactOut, ContactRef
from rapport.kit.batch import BatchEnvelope, batch_answer, some_failed
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.etag import ETAG_HEADER, NOT_MODIFIED, IfMatch, IfNoneMatch, not_modified
from rapport.kit.pagination import PageRequest, Pagination, SortSpec
from rapport.kit.session import api_router
from rapport.models.companies import Company

router = api_router(tags=["Companies"])

CompanyId = Annotated[
    uuid.UUID,
    Path(
        description="The company's id (not its externalId)",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    ),
]
MembershipId = Annotated[
    uuid.UUID,
    Path(
        description="The membership's id (the `id` of a membership, or `membershipId` in a "
        "list of the contact's companies)",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    ),
]
CompanyPage = Annotated[PageRequest, Depends(Pagination(CompanyRepository.sort_columns))]
MembershipPage = Annotated[PageRequest, Depends(Pagination(MembershipRepository.sort_columns))]

_COMPANY_404 = documented_errors({404: "No such company in this workspace"})
_CONTACT_404 = documented_errors({404: "No such contact (or membership) in this workspace"})
_CONFLICT = documented_errors(
    {409: "COMPANY_DOMAIN_EXISTS or COMPANY_EXTERNAL_ID_EXISTS", 412: "If-Match mismatch"}
)


def _one(company: Company, response: Response) -> Envelope[CompanyOut]:
    response.headers["ETag"] = company_etag(company)
    return Envelope(data=CompanyOut.model_validate(company))


@router.post(
    "/companies/batch",
    summary="Create or upsert up to 1,000 companies, each with its own result",
    responses=some_failed(BatchEnvelope[CompanyOut]),
)
async def batch_save_companies(
    body: CompanyBatch, companies: CompaniesBulk, response: Response
) -> BatchEnvelope[CompanyOut]:
    """Create each record as POST /companies would (with `upsert`, update the company with
    its externalId, else its domain). Each record succeeds or fails alone: 200 when all
    succeeded, 207 when any failed, with one result per record in request order (`index`,
    `status` created, updated, unchanged or failed, the `record`, or the `error` the single
    call would have answered: VALIDATION_FAILED, COMPANY_DOMAIN_EXISTS...). Two records
    naming the same domain or externalId: the later fails with DUPLICATE_IN_BATCH. Counts
    against the `bulk` rate limit; takes an Idempotency-Key."""
    outcomes = await companies.save_many(body.records, upsert=body.upsert)
    return batch_answer(outcomes, CompanyOut.model_validate, response)


@router.get("/companies/search", summary="Typeahead search of companies by name or domain")
async def search_companies(
    companies: CompaniesRead,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"\S",
            description="Text to find in the name or domain (any case); not only spaces",
            examples=["acme"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100, description="How many companies at most")] = 20,
) -> ListEnvelope[CompanyOut]:
    """Companies whose name or domain contains `q`, in any case, sorted by name: for
    autocompletion. At most `limit` companies are returned, without paging (the meta says how
    many match in all). For full filtering and paging use `GET /companies`."""
    page = PageRequest(skip=0, take=limit, sort=SortSpec("name", descending=False))
    rows, meta = await companies.page(CompanyFilters(search=q), page)
    return ListEnvelope(data=[CompanyOut.model_validate(c) for c in rows], meta=meta)


@router.post(
    "/companies",
    status_code=201,
    summary="Create a company",
    responses={**_CONFLICT, 201: {"headers": ETAG_HEADER}},
)
async def create_company(
    body: CompanyCreate, companies: CompaniesWrite, response: Response
) -> Envelope[CompanyOut]:
    """Creates a company and answers with it, its `Location` and its `ETag`. The domain is
    stored normalised (`https://www.Acme.com/x` -> `acme.com`), the website as an http(s) URL
    and the phone in E.164. The domain and the externalId are each unique in the workspace:
    a value another company holds is refused with 409 `COMPANY_DOMAIN_EXISTS` or
    `COMPANY_EXTERNAL_ID_EXISTS`, whose details name that company. `ownerUserId` must be a user
    of the workspace, and each key of `properties` must be a COMPANY property defined at
    `/properties` (required ones must be given), its value valid for the property's type
    (422 otherwise)."""
    company = await companies.create(body)
    response.headers["Location"] = f"/api/v1/companies/{company.id}"
    return _one(company, response)


@router.get(
    "/companies/{company_ref}",
    summary="One company, by id or externalId",
    response_model=Envelope[CompanyOut],
    responses={**_COMPANY_404, **NOT_MODIFIED, 200: {"headers": ETAG_HEADER}},
)
async def get_company(
    company_ref: CompanyRef,
    companies: CompaniesRead,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> Envelope[CompanyOut] | Response:
    """The company named by its id or, failing that, by its externalId. The `ETag` header
    identifies this version: send it in `If-None-Match` to get 304 without a body while it is
    unchanged, or in `If-Match` on a PATCH or DELETE to change only this version."""
    company = await companies.get(company_ref)
    return not_modified(if_none_match, company_etag(company)) or _one(company, response)


@router.patch(
    "/companies/{company_ref}",
    summary="Update a company (properties merge key by key)",
    responses={**_COMPANY_404, **_CONFLICT, 200: {"headers": ETAG_HEADER}},
)
async def update_company(
    company_ref: CompanyRef,
    body: CompanyUpdate,
    companies: CompaniesWrite,
    response: Response,
    if_match: IfMatch = None,
) -> Envelope[CompanyOut]:
    """Changes the fields sent and leaves the others as they are; `null` clears a field
    (`name`, `role` and `status` cannot be cleared). `properties` merge key by key: a key sent
    as `null` is removed, and each value is validated against its definition. The domain is
    normalised, and a domain or externalId held by another company is refused with 409
    `COMPANY_DOMAIN_EXISTS` or `COMPANY_EXTERNAL_ID_EXISTS`. With `If-Match`, the change is
    made only if the company is still at that version (412 otherwise)."""
    return _one(await companies.update(company_ref, body, if_match), response)


@router.delete(
    "/companies/{company_ref}",
    status_code=204,
    summary="Delete a company and its memberships (its contacts stay)",
    responses={**_COMPANY_404, **documented_errors({412: "If-Match mismatch"})},
)
async def delete_company(
    company_ref: CompanyRef, companies: CompaniesWrite, if_match: IfMatch = None
) -> Response:
    """Deletes the company for good, with its memberships and its tags. Its contacts stay,
    and so do the activities and tasks linked to it, no longer linked to any company. With
    `If-Match`, the company is deleted only if it is still at that version (412 otherwise)."""
    await companies.delete(company_ref, if_match)
    return Response(status_code=204)


@router.get(
    "/companies/{company_ref}/contacts",
    summary="The company's contacts, with their role and primary flag",
    responses=_COMPANY_404,
)
async def list_company_contacts(
    company_ref: CompanyRef, memberships: MembershipsRead, page: MembershipPage
) -> ListEnvelope[CompanyContactOut]:
    """The contacts linked to the company (named by id or externalId), a page at a time, each
    with its membership id, its role and whether this is its primary company. Deleted
    contacts are left out."""
    rows, meta = await memberships.of_company(company_ref, page)
    return ListEnvelope(
        data=[
            CompanyContactOut(
                membership_id=m.id,
                role=m.role,
                is_primary=m.is_primary,
                contact=ContactOut.model_validate(contact),
            )
            for m, contact in rows
        ],
        meta=meta,
    )


@router.get(
    "/contacts/{ref}/companies",
    tags=["Contacts"],
    summary="The contact's companies, with its role and primary flag in each",
    responses=_CONTACT_404,
)
async def list_contact_companies(
    ref: ContactRef, memberships: MembershipsRead, page: MembershipPage
) -> ListEnvelope[ContactCompanyOut]:
    """The companies the contact (named by id, email or externalId) is linked to, a page at a
    time, each with the membership id, the contact's role and whether it is the contact's
    primary company. A contact has at most one primary company. The same memberships are
    listed, without the companies, by `GET /contacts/{ref}/company-memberships`."""
    rows, meta = await memberships.of_contact(ref, page)
    return ListEnvelope(data=[_contact_company(m) for m in rows], meta=meta)


@router.post(
    "/contacts/{ref}/companies",
    status_code=201,
    tags=["Contacts"],
    summary="Link the contact to a company",
    responses={
        **_CONTACT_404,
        **documented_errors({409: "The contact is already in this company (ALREADY_ASSOCIATED)"}),
    },
)
async def add_contact_company(
    ref: ContactRef, body: MembershipCreate, memberships: MembershipsWrite
) -> Envelope[MembershipOut]:
    """Links the contact to the company `companyId` names (by id) and answers with the new
    membership; it does the same as `POST /contacts/{ref}/company-memberships`. A contact is
    linked to a company once: a second link is refused with 409 `ALREADY_ASSOCIATED`, and an
    unknown `companyId` with 422. With `isPrimary: true` it becomes the contact's primary
    company, and the previous primary membership stops being primary. `properties` are
    validated against the CONTACT_COMPANY definitions."""
    membership = await memberships.add(ref, body)
    return Envelope(data=MembershipOut.model_validate(membership))


@router.delete(
    "/contacts/{ref}/companies/{company_id}",
    status_code=204,
    tags=["Contacts"],
    summary="Unlink the contact from a company",
    responses=_CONTACT_404,
)
async def remove_contact_company(
    ref: ContactRef, company_id: CompanyId, memberships: MembershipsWrite
) -> Response:
    """Unlinks the contact from the company (named by its id): the membership is deleted,
    and neither the contact nor the company is. 404 if the contact is not linked to that
    company. If it was the contact's primary company, the contact is left without one."""
    await memberships.remove_company(ref, company_id)
    return Response(status_code=204)


@router.get(
    "/contacts/{ref}/company-memberships",
    tags=["Contacts"],
    summary="The contact's company memberships",
    responses=_CONTACT_404,
)
async def list_memberships(
    ref: ContactRef, memberships: MembershipsRead, page: MembershipPage
) -> ListEnvelope[MembershipOut]:
    """The contact's memberships, a page at a time: company id, role, primary flag and the
    membership's own properties. A contact has at most one primary membership. To get the
    companies themselves, use `GET /contacts/{ref}/companies`."""
    rows, meta = await memberships.of_contact(ref, page)
    return ListEnvelope(data=[MembershipOut.model_validate(m) for m in rows], meta=meta)


@router.post(
    "/contacts/{ref}/company-memberships",
    status_code=201,
    tags=["Contacts"],
    summary="Add a company membership to the contact",
    responses={
        **_CONTACT_404,
        **documented_errors({409: "The contact is already in this company (ALREADY_ASSOCIATED)"}),
    },
)
async def create_membership(
    ref: ContactRef, body: MembershipCreate, memberships: MembershipsWrite
) -> Envelope[MembershipOut]:
    """Links the contact to the company `companyId` names (by id); the same as
    `POST /contacts/{ref}/companies`. A contact is linked to a company once: a second link is
    refused with 409 `ALREADY_ASSOCIATED`, and an unknown `companyId` with 422. With
    `isPrimary: true` it becomes the contact's primary company, and the previous primary
    membership stops being primary. `properties` are validated against the CONTACT_COMPANY
    definitions."""
    membership = await memberships.add(ref, body)
    return Envelope(data=MembershipOut.model_validate(membership))


@router.patch(
    "/contacts/{ref}/company-memberships/{membership_id}",
    tags=["Contacts"],
    summary="Change the role or primary flag of a membership",
    responses=_CONTACT_404,
)
async def update_membership(
    ref: ContactRef,
    membership_id: MembershipId,
    body: MembershipUpdate,
    memberships: MembershipsWrite,
) -> Envelope[MembershipOut]:
    """Changes the fields sent. Setting `isPrimary: true` makes this the contact's only
    primary company (the previous primary membership stops being primary); `false` on the
    primary membership leaves the contact without one. `properties` merge key by key (a key
    sent as `null` is removed) and are validated against the CONTACT_COMPANY definitions. The
    company of a membership cannot change: remove it and add another."""
    membership = await memberships.update(ref, membership_id, body)
    return Envelope(data=MembershipOut.model_validate(membership))


@router.delete(
    "/contacts/{ref}/company-memberships/{membership_id}",
    status_code=204,
    tags=["Contacts"],
    summary="Remove a membership",
    responses=_CONTACT_404,
)
async def delete_membership(
    ref: ContactRef, membership_id: MembershipId, memberships: MembershipsWrite
) -> Response:
    """Deletes the membership: the contact is no longer linked to that company, and neither
    the contact nor the company is deleted. 404 if the membership is not one of this
    contact's. If it was the primary one, the contact is left without a primary company."""
    await memberships.remove(ref, membership_id)
    return Response(status_code=204)


def _contact_company(membership: Any) -> ContactCompanyOut:
    return ContactCompanyOut(
        membership_id=membership.id,
        role=membership.role,
        is_primary=membership.is_primary,
        company=CompanyOut.model_validate(membership.company),
    )
