"""HTTP routes of contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Response

from rapport.contacts.deps import ContactsRead, ContactsWrite
from rapport.contacts.responses import (
    CONTACT_NOT_FOUND,
    CREATED_WITH_ETAG,
    ETAG_HEADER,
    WITH_ETAG,
    one_contact,
)
from rapport.contacts.schemas import (
    ContactOut,
    ContactRef,
    ContactUpdate,
    ContactUpsert,
    ResolveCandidate,
    ResolveRequest,
    ResolveResult,
)
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.session import api_router

router = api_router(prefix="/contacts", tags=["Contacts"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag of the version you read; 412 if it changed"),
]
_CONFLICT = documented_errors({409: "CONTACT_EMAIL_EXISTS or CONTACT_EXTERNAL_ID_EXISTS"})
_PRECONDITION = documented_errors(
    {412: "If-Match no longer matches the ETag (PRECONDITION_FAILED)"}
)


@router.post(
    "",
    status_code=201,
    summary="Create a contact (with `upsert`, update the one with its externalId or email)",
    responses={
        **_CONFLICT,
        **CREATED_WITH_ETAG,
        200: {
            "model": Envelope[ContactOut],
            "description": "`upsert`: an existing contact was updated",
            "headers": ETAG_HEADER,
        },
    },
)
async def create_contact(
    body: ContactUpsert, contacts: ContactsWrite, response: Response
) -> Envelope[ContactOut]:
    contact, created = await contacts.save(body)
    response.headers["Location"] = f"/api/v1/contacts/{contact.id}"
    response.status_code = 201 if created else 200
    return one_contact(contact, response)


@router.get("/search", summary="Typeahead: contacts whose name, email or phone contain q")
async def search_contacts(
    contacts: ContactsRead,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"\S")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ListEnvelope[ContactOut]:
    rows, meta = await contacts.search(q, limit)
    return ListEnvelope(data=[ContactOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "/resolve",
    summary="Identity resolution: the contact matching an email, phone, externalId or name",
)
async def resolve_contact(body: ResolveRequest, contacts: ContactsRead) -> Envelope[ResolveResult]:
    match, candidates = await contacts.resolve(body)
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


@router.patch(
    "/{ref}",
    summary="Update a contact (properties merge key by key)",
    responses={**CONTACT_NOT_FOUND, **_CONFLICT, **_PRECONDITION, **WITH_ETAG},
)
async def update_contact(
    ref: ContactRef,
    body: ContactUpdate,
    contacts: ContactsWrite,
    response: Response,
    if_match: IfMatch = None,
) -> Envelope[ContactOut]:
    return one_contact(await contacts.update(ref, body, if_match), response)


@router.delete(
    "/{ref}",
    summary="Soft-delete a contact (status becomes DELETED); returns the record",
    responses={**CONTACT_NOT_FOUND, **_PRECONDITION, **WITH_ETAG},
)
async def delete_contact(
    ref: ContactRef, contacts: ContactsWrite, response: Response, if_match: IfMatch = None
) -> Envelope[ContactOut]:
    return one_contact(await contacts.delete(ref, if_match), response)
