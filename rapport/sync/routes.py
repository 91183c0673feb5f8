"""HTTP routes of contacts' sync status, and the reverse lookup of sync links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from rapport.contacts.schemas import ContactRef
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.sync.deps import SyncRead, SyncWrite
from rapport.sync.repository import SyncLinkRepository
from rapport.sync.schemas import (
    KEY_DOC,
    KEY_LENGTH,
    KEY_PATTERN,
    SyncLinkFound,
    SyncLinkOut,
    SyncLinkPut,
    SyncStatusOut,
)

router = api_router(tags=["Sync"])

IntegrationKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=KEY_LENGTH,
        pattern=KEY_PATTERN,
        description=KEY_DOC,
        examples=["hubspot-production"],
    ),
]
Page = Annotated[PageRequest, Depends(Pagination(SyncLinkRepository.sort_columns))]
_CONTACT_404 = documented_errors({404: "No such contact in this workspace"})
_LINK_404 = documented_errors({404: "No such contact, or it has no link to this integration"})
_CONFLICT = documented_errors(
    {409: "The integration's record is linked to another contact (SYNC_EXTERNAL_ID_EXISTS)"}
)
_PUT: dict[int | str, dict[str, Any]] = {
    200: {"description": "The link existed and was replaced", "model": Envelope[SyncLinkOut]},
    201: {"description": "The link was created"},
}


@router.get(
    "/contacts/{ref}/sync-status",
    tags=["Contacts"],
    summary="Where the contact lives in other systems, by integration key",
    responses=_CONTACT_404,
)
async def get_sync_status(ref: ContactRef, sync: SyncRead) -> Envelope[SyncStatusOut]:
    """The contact's links to outside systems (its id in each, when it was last synced and
    the hash of what was sent), ordered by integration key, with its own externalId. The
    contact is named by id, email or externalId; a merged contact answers with the contact it
    was merged into, which holds its links. Deleted contacts keep their links."""
    contact, links = await sync.status(ref)
    return Envelope(
        data=SyncStatusOut(
            contact_id=contact.id,
            external_id=contact.external_id,
            integrations=[SyncLinkOut.model_validate(link) for link in links],
        )
    )


@router.put(
    "/contacts/{ref}/sync-status/{integration_key}",
    status_code=201,
    tags=["Contacts"],
    summary="Record the contact's record in one integration (create or replace the link)",
    responses={**_CONTACT_404, **_CONFLICT, **_PUT},
)
async def put_sync_link(
    ref: ContactRef,
    integration_key: IntegrationKey,
    body: SyncLinkPut,
    sync: SyncWrite,
    response: Response,
) -> Envelope[SyncLinkOut]:
    """Record which record of an integration the contact is: 201 when the link is new, 200
    when it replaces the one recorded for this integration key (fields not sent become
    null). One record of an integration (integration key and externalId) belongs to one
    contact: linking it to a second contact is refused with 409 SYNC_EXTERNAL_ID_EXISTS, with
    the contact holding it in `details[].existingId` (deleted contacts keep their links, so
    delete the link first). Sync bookkeeping emits no events or webhooks, so writing it does
    not echo back to the syncing tool."""
    link, created = await sync.put(ref, integration_key, body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = (
        f"/api/v1/contacts/{link.contact_id}/sync-status/{link.integration_key}"
    )
    return Envelope(data=SyncLinkOut.model_validate(link))


@router.delete(
    "/contacts/{ref}/sync-status/{integration_key}",
    status_code=204,
    tags=["Contacts"],
    summary="Forget the contact's link to one integration",
    responses=_LINK_404,
)
async def delete_sync_link(
    ref: ContactRef, integration_key: IntegrationKey, sync: SyncWrite
) -> Response:
    """Delete the contact's link to one integration, for instance when the record was
    deleted in that system; its externalId can then be linked to another contact. 404 when
    the contact does not exist or has no link for this integration key. Emits no event."""
    await sync.remove(ref, integration_key)
    return Response(status_code=204)


@router.get(
    "/sync-links",
    summary="Reverse lookup: the contacts linked to an integration, or to one of its records",
)
async def find_sync_links(
    sync: SyncRead,
    page: Page,
    integration_key: Annotated[
        str,
        Query(
            alias="integrationKey",
            min_length=1,
            max_length=KEY_LENGTH,
            pattern=KEY_PATTERN,
            description=KEY_DOC,
            examples=["hubspot-production"],
        ),
    ],
    external_id: Annotated[
        str | None,
        Query(
            alias="externalId",
            min_length=1,
            max_length=255,
            pattern=r"\S",
            description="The record's id in that system",
            examples=["5101"],
        ),
    ] = None,
) -> ListEnvelope[SyncLinkFound]:
    """Reverse lookup: the links of one integration, each with the Rapport contact it
    belongs to, to find which contact a record of that system is. With `externalId`, at most
    one link is returned, since a record belongs to one contact. Links of deleted contacts
    are listed too (check the contact's status); a merged contact's links have moved to the
    contact it was merged into."""
    rows, meta = await sync.lookup(integration_key, external_id, page)
    return ListEnvelope(data=[SyncLinkFound.model_validate(r) for r in rows], meta=meta)
