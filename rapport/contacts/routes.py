"""HTTP routes of contacts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Response

from rapport.auth.dependencies import Authenticator
from rapport.auth.principal import Principal
from rapport.auth.scopes import Scope
from rapport.contacts.repository import ContactFilters, ContactRepository
from rapport.contacts.schemas import ContactCreate, ContactOut, ContactUpdate
from rapport.contacts.service import ContactService, contact_etag
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import DbSession, api_router
from rapport.models import Contact, ContactStatus, LifecycleStage

router = api_router(prefix="/contacts", tags=["Contacts"])

Reader = Annotated[Principal, Depends(Authenticator(Scope.CRM_READ))]
Writer = Annotated[Principal, Depends(Authenticator(Scope.CRM_WRITE))]
ContactRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=320,
        description="The contact's id, email address, or externalId",
        examples=["alice@example.com"],
    ),
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


@router.get("", summary="List contacts (deleted ones only with status=DELETED)")
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
) -> ListEnvelope[ContactOut]:
    filters = ContactFilters(
        company_id=company_id,
        search=search,
        status=status,
        lifecycle_stage=lifecycle_stage,
        is_identified=is_identified,
        created_from=created_from,
        created_to=created_to,
    )
    rows, meta = await _service(db, principal).list(filters, page)
    return ListEnvelope(data=[ContactOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "", status_code=201, summary="Create a contact", responses={**_CONFLICT, **_CREATED_WITH_ETAG}
)
async def create_contact(
    body: ContactCreate, db: DbSession, principal: Writer, response: Response
) -> Envelope[ContactOut]:
    contact = await _service(db, principal).create(body)
    response.headers["Location"] = f"/api/v1/contacts/{contact.id}"
    return _one(contact, response)


@router.get(
    "/{ref}",
    summary="Get a contact by id, email or externalId",
    responses={**_NOT_FOUND, **_WITH_ETAG},
)
async def get_contact(
    ref: ContactRef, db: DbSession, principal: Reader, response: Response
) -> Envelope[ContactOut]:
    return _one(await _service(db, principal).get(ref), response)


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
