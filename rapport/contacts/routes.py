"""HTTP routes of contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from rapport.contacts.deps import ContactsBulk, ContactsRead, ContactsWrite
from rapport.contacts.responses import (
    CONTACT_NOT_FOUND,
    CREATED_WITH_ETAG,
    WITH_ETAG,
    one_contact,
)
from rapport.contacts.schemas import (
    ContactBatch,
    ContactBatchDelete,
    ContactOut,
    ContactRef,
    ContactUpdate,
    ContactUpsert,
    ResolveCandidate,
    ResolveRequest,
    ResolveResult,
)
from rapport.kit.batch import BatchEnvelope, batch_answer, some_failed
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.etag import ETAG_HEADER, IfMatch
from rapport.kit.session import api_router

router = api_router(prefix="/contacts", tags=["Contacts"])

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
    """Create a contact. It needs at least one of email, phone, externalId or a name (`name`,
    or `givenName`/`familyName`, from which `name` is made when left out); email is stored
    lowercase and phone as E.164, and `status` cannot be MERGED. Email and externalId are
    unique among live contacts (not deleted or merged): 409 CONTACT_EMAIL_EXISTS or
    CONTACT_EXTERNAL_ID_EXISTS names the holder in `details[].existingId`. With
    `upsert: true`, a live contact with the same externalId, else the same email, is updated
    with the fields sent instead (properties merge key by key) and the answer is 200; a 409
    can still come back when an update would take another contact's email or externalId."""
    contact, created = await contacts.save(body)
    response.headers["Location"] = f"/api/v1/contacts/{contact.id}"
    response.status_code = 201 if created else 200
    return one_contact(contact, response)


@router.post(
    "/batch",
    summary="Create or upsert up to 1,000 contacts, each with its own result",
    responses=some_failed(BatchEnvelope[ContactOut]),
)
async def batch_save_contacts(
    body: ContactBatch, contacts: ContactsBulk, response: Response
) -> BatchEnvelope[ContactOut]:
    """Create each record as POST /contacts would (with `upsert`, update the live contact
    with its externalId, else its email). Each record succeeds or fails alone: the answer is
    200 when all succeeded, 207 when any failed, with one result per record in request order
    (`index`, `status` created, updated, unchanged or failed, the `record`, or the `error` as
    the single call would have answered it: VALIDATION_FAILED, CONTACT_EMAIL_EXISTS...).
    Two records naming the same email or externalId: the later fails with
    DUPLICATE_IN_BATCH. Events, webhooks and lists follow each record as for single writes.
    Counts against the `bulk` rate limit; takes an Idempotency-Key. A write racing this call
    on the same email can fail the whole call with 409 (nothing is written): send it again."""
    outcomes = await contacts.save_many(body.records, upsert=body.upsert)
    return batch_answer(outcomes, ContactOut.model_validate, response)


@router.post(
    "/batch/delete",
    summary="Soft-delete up to 1,000 contacts, each with its own result",
    responses=some_failed(BatchEnvelope[ContactOut]),
)
async def batch_delete_contacts(
    body: ContactBatchDelete, contacts: ContactsBulk, response: Response
) -> BatchEnvelope[ContactOut]:
    """Soft-delete each contact named (by id, email or externalId) as DELETE /contacts/{ref}
    does: `status` deleted, unchanged (it already was), or failed (NOT_FOUND). 200 when none
    failed, else 207. Counts against the `bulk` rate limit."""
    outcomes = await contacts.delete_many(body.ids)
    return batch_answer(outcomes, ContactOut.model_validate, response)


@router.get("/search", summary="Typeahead: contacts whose name, email or phone contain q")
async def search_contacts(
    contacts: ContactsRead,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"\S",
            description="Text to find in the name, email or phone, ignoring case and accents",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100, description="How many contacts to return")] = 20,
) -> ListEnvelope[ContactOut]:
    """Find live contacts (not deleted or merged) whose name, email or phone contains `q`,
    for autocompletion. Those starting with `q` come first, then those with a word starting
    with it, then the rest, by name within each group. Only the first 1000 matches are
    ranked, so type a longer term to narrow a common one. There is a single page: `meta.total`
    is null and `meta.hasMore` says whether more contacts matched."""
    rows, meta = await contacts.search(q, limit)
    return ListEnvelope(data=[ContactOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "/resolve",
    summary="Identity resolution: the contact matching an email, phone, externalId or name",
)
async def resolve_contact(body: ResolveRequest, contacts: ContactsRead) -> Envelope[ResolveResult]:
    """Find the live contacts that may be the person described, without changing anything
    (it needs only `crm:read`, but as a POST it counts against the `write` rate limit). Send
    at least one of email, phone, externalId, name (422 otherwise). Each candidate is scored
    from what matched: externalId 1.0, email 0.95, phone 0.7, name 0.4 (exact, ignoring case
    and accents), combined as independent evidence. `match` is set only when the best
    candidate scores at least 0.9 and no other scores as much; `candidates` holds at most 10,
    best first."""
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
    """Change the fields sent; a field sent as `null` is cleared, and `properties` merge into
    the stored values key by key. `status` cannot be set to MERGED (use the merge operation)
    or null; DELETED hides the contact as a soft delete does, and ACTIVE or ARCHIVED restores
    a deleted one. The contact is named by id, email or externalId; naming a merged contact
    updates the contact it was merged into. 409 CONTACT_EMAIL_EXISTS or
    CONTACT_EXTERNAL_ID_EXISTS when another live contact holds the email or externalId (also
    when restoring a contact whose own was taken meanwhile); 412 when `If-Match` is sent and
    the contact changed since."""
    return one_contact(await contacts.update(ref, body, if_match), response)


@router.delete(
    "/{ref}",
    summary="Soft-delete a contact (status becomes DELETED); returns the record",
    responses={**CONTACT_NOT_FOUND, **_PRECONDITION, **WITH_ETAG},
)
async def delete_contact(
    ref: ContactRef, contacts: ContactsWrite, response: Response, if_match: IfMatch = None
) -> Envelope[ContactOut]:
    """Soft-delete a contact: its status becomes DELETED and the record is returned. It stays
    readable by id (and by email or externalId until a live contact takes them), keeps its
    companies, tags, activities and sync links, and drops out of lists (unless filtered by
    status=DELETED), search and identity resolution; its email and externalId are free for
    another contact. Deleting it again changes nothing. Restore it with PATCH
    (`status: ACTIVE`). 412 when `If-Match` is sent and the contact changed since."""
    return one_contact(await contacts.delete(ref, if_match), response)
