"""HTTP routes of a person's data: its export and its erasure."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body

from rapport.contacts.responses import CONTACT_NOT_FOUND
from rapport.contacts.schemas import ContactRef
from rapport.kit.envelope import Envelope
from rapport.kit.session import api_router
from rapport.privacy.deps import PrivacyAdmin
from rapport.privacy.schemas import ContactExport, ErasureRequest, ErasureSummary

router = api_router(prefix="/contacts", tags=["Contacts"])


@router.get(
    "/{ref}/export",
    summary="Everything held on a person, as one document (data portability)",
    responses=CONTACT_NOT_FOUND,
)
async def export_contact(ref: ContactRef, privacy: PrivacyAdmin) -> Envelope[ContactExport]:
    """Everything the workspace holds on the person the contact names (by id, email or
    externalId; a merged contact names the contact it was merged into): the contact with its
    custom properties, the contacts merged into it (the same person), their activities and
    notes, company memberships, tags, leads, list memberships, tasks, emails written to them,
    the events about them and the webhook deliveries of those events, and their sync links.
    Deleted contacts are exported too. Nothing is paged: the document is whole. Requires the
    `crm:admin` scope."""
    return Envelope(data=await privacy.export(ref))


@router.post(
    "/{ref}/erase",
    summary="Erase a person: delete the contact and their personal data for good",
    responses=CONTACT_NOT_FOUND,
)
async def erase_contact(
    ref: ContactRef,
    privacy: PrivacyAdmin,
    body: Annotated[ErasureRequest, Body()] = ErasureRequest(),
) -> Envelope[ErasureSummary]:
    """Erase the person the contact names (by id, email or externalId; a merged contact names
    the contact it was merged into), in one transaction that cannot be undone. The contact
    and the contacts merged into it are deleted (naming them again is a 404), with their
    company memberships, tags, list memberships, custom property values and sync links.
    What the workspace keeps for its figures stays without personal data: activities lose
    their subject, content, properties and contact; tasks their title, description and
    contact; leads their contact (values and stages stay); emails their address, subject
    and bodies (one still queued fails unsent); events about the person keep their type,
    time and ids, their `data` becoming `{"redacted": true}`; deliveries of those events
    lose the receivers' answers. The person's email addresses are recorded on the
    workspace's suppression list as SHA-256 hashes only. Emits `contact.erased` for each
    contact deleted, carrying its id alone. Answers with what was done, counted. Requires
    the `crm:admin` scope."""
    del body  # `reason` is for the caller's records: none of it is kept
    return Envelope(data=await privacy.erase(ref))
