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
            {
                400: "Merging a contact with itself, or into a deleted contact (INVALID_REQUEST)",
                409: "The loser or the survivor is already merged (CONTACT_MERGED), also when "
                "a concurrent merge got there first",
            }
        ),
        **WITH_ETAG,
    },
)
async def merge_contacts(
    ref: ContactRef, body: MergeRequest, merger: Merger, response: Response
) -> Envelope[ContactOut]:
    """Merge the contact `loserId` into the contact in the path (named by id, email or
    externalId), which survives and is returned. The survivor takes the loser's companies,
    tags, activities (notes included), tasks and sync links (a link to an integration it
    already has is dropped), fills its empty fields and missing property keys from the
    loser's (its own values win; an email or externalId another live contact holds is not
    taken), and keeps the later lastActivityAt. The loser stays as a MERGED contact pointing
    at the survivor, so its id, email and externalId name the survivor from then on; a merge
    cannot be undone. Requires the `crm:admin` scope. 400 when both are the same contact or
    the survivor is deleted; 409 CONTACT_MERGED when the loser is already merged, or the
    contact in the path was merged into the loser (of two opposite merges of one pair, the
    second: exactly one wins);
    422 when `loserId` names no contact of the workspace."""
    return one_contact(await merger.merge(ref, body.loser_id), response)
