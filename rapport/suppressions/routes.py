"""HTTP routes of the suppression list."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.models.suppressions import SuppressionReason
from rapport.suppressions.deps import Suppressions
from rapport.suppressions.repository import SuppressionRepository
from rapport.suppressions.schemas import SuppressionCreate, SuppressionOut

router = api_router(tags=["Suppressions"])

SuppressionId = Annotated[
    uuid.UUID,
    Path(
        description="The entry's id (an address is looked up with `GET /suppressions?email=`)",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    ),
]
Page = Annotated[PageRequest, Depends(Pagination(SuppressionRepository.sort_columns))]
_NOT_FOUND = documented_errors({404: "No such entry in this workspace"})
_ADDED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Envelope[SuppressionOut],
        "description": "The address was on the list already; the entry is answered unchanged",
    },
    201: {"description": "The address was put on the list"},
}


@router.get("/suppressions", summary="List the suppression list")
async def list_suppressions(
    suppressions: Suppressions,
    page: Page,
    reason: Annotated[
        SuppressionReason | None,
        Query(description="Only entries with this reason: erased, manual, bounced, complained"),
    ] = None,
    email: Annotated[
        str | None,
        Query(
            max_length=320,
            description="Only the entry of this exact address (in any case), looked up by its "
            "hash: an erased person's entry is found too, without its address",
            examples=["bounced@example.com"],
        ),
    ] = None,
) -> ListEnvelope[SuppressionOut]:
    """The addresses the workspace keeps out of every sending, newest first, a page at a
    time. Each entry has the SHA-256 of its address (`emailHash`); the address itself
    (`email`) is null for an erased person's entry, of whom nothing else is kept. `email=`
    finds one address's entry whatever its reason; an address that is not an address is
    400."""
    rows, meta = await suppressions.page(reason, email, page)
    return ListEnvelope(data=[SuppressionOut.model_validate(r) for r in rows], meta=meta)


@router.post(
    "/suppressions",
    status_code=201,
    summary="Put an address on the suppression list",
    responses=_ADDED,
)
async def add_suppression(
    body: SuppressionCreate, suppressions: Suppressions, response: Response
) -> Envelope[SuppressionOut]:
    """Keeps the address out of every sending from now on. Adding an address twice is
    harmless: 201 with the new entry, 200 with the entry the address has already, unchanged
    (its reason and source stay; an erased person's entry stays erased and shows no address).
    `reason` is manual (the default), bounced or complained: `erased` entries are recorded
    only by erasing a contact, and sending it is 422. An invalid address is 422 on `email`.
    Emits `suppression.added` for a new entry."""
    entry, created = await suppressions.add(body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/suppressions/{entry.id}"
    return Envelope(data=SuppressionOut.model_validate(entry))


@router.get("/suppressions/{suppression_id}", summary="One suppression", responses=_NOT_FOUND)
async def get_suppression(
    suppression_id: SuppressionId, suppressions: Suppressions
) -> Envelope[SuppressionOut]:
    """The entry with this id."""
    return Envelope(data=SuppressionOut.model_validate(await suppressions.get(suppression_id)))


@router.delete(
    "/suppressions/{suppression_id}",
    status_code=204,
    summary="Take an address off the suppression list",
    responses={
        **_NOT_FOUND,
        **documented_errors(
            {409: "The entry is an erased person's (SUPPRESSION_ERASED); nothing changed"}
        ),
    },
)
async def delete_suppression(suppression_id: SuppressionId, suppressions: Suppressions) -> Response:
    """Takes a manual, bounced or complained entry off the list: the address may be sent to
    again. An erased person's entry cannot be removed here (409 `SUPPRESSION_ERASED`): it goes
    when the person consents again, which is recorded by creating the contact again with
    `"reconsent": true`. Emits `suppression.removed`."""
    await suppressions.remove(suppression_id)
    return Response(status_code=204)
