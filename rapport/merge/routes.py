"""HTTP route of contact merges."""

from __future__ import annotations

from fastapi import Response

from rapport.contacts.responses import CONTACT_NOT_FOUND, WITH_ETAG, one_contact
from rapport.contacts.schemas import ContactOut, ContactRef
from rapport.kit.envelope import Envelope
from rapport.kit.errors import documented_errors
from rapport.kit.session import api_router
from rapport.merge.deps import Merger
from rapport.merge.schemas import MergeRequest

router = api_router(prefix="/contacts", tags=["Contacts"])


@router.post(
    "/{ref}/merge",
    summary="Merge another contact into this one (the loser stays, as MERGED)",
    responses={
        **CONTACT_NOT_FOUND,
        **documented_errors(
            {400: "Merging with itself, or a contact already merged (INVALID_REQUEST)"}
        ),
        **WITH_ETAG,
    },
)
async def merge_contacts(
    ref: ContactRef, body: MergeRequest, merger: Merger, response: Response
) -> Envelope[ContactOut]:
    return one_contact(await merger.merge(ref, body.loser_id), response)
