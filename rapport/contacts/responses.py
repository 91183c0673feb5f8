"""How a contact is answered over HTTP, and the answers documented on contact routes: shared by
every package with routes under /contacts/{ref}."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import contact_etag
from rapport.kit.envelope import Envelope
from rapport.kit.errors import documented_errors
from rapport.kit.etag import ETAG_HEADER
from rapport.models.contacts import Contact

CONTACT_NOT_FOUND = documented_errors({404: "No such contact in this workspace"})
WITH_ETAG: dict[int | str, dict[str, Any]] = {200: {"headers": ETAG_HEADER}}
CREATED_WITH_ETAG: dict[int | str, dict[str, Any]] = {201: {"headers": ETAG_HEADER}}


def one_contact(contact: Contact, response: Response) -> Envelope[ContactOut]:
    """The contact, with its ETag."""
    response.headers["ETag"] = contact_etag(contact)
    return Envelope(data=ContactOut.model_validate(contact))
