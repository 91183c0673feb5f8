"""Links in emails that act without a login: confirming a subscription, unsubscribing. Each
carries the workspace, the record it is about and an HMAC of both (a key derived from the
app's secret key, one per kind of link), so a link cannot be altered or made for another
record or workspace; a confirmation link also carries when it was issued, and expires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapport.config import Settings
from rapport.kit.crypto import Signer
from rapport.kit.errors import NotFound

CONFIRMATION_DAYS = 30
CONFIRM_PATH = "/email/confirm/"
UNSUBSCRIBE_PATH = "/email/unsubscribe/"
VIEW_PATH = "/email/view/"


class LinkNotFound(NotFound):
    default_message = "This link is not valid: it may have been cut or altered"


@dataclass(frozen=True)
class Token:
    tenant_id: uuid.UUID
    subject_id: uuid.UUID
    issued: int


class EmailLinks:
    @classmethod
    def of(cls, settings: Settings) -> EmailLinks:
        return cls(settings.resolved_secret_key(), settings.resolved_public_url)

    def __init__(self, secret_key: str, public_url: str) -> None:
        self.public_url = public_url
        self._confirm = Signer(secret_key, "email confirmation links")
        self._unsubscribe = Signer(secret_key, "email unsubscribe links")
        self._view = Signer(secret_key, "email view-in-browser links")

    def confirmation(self, tenant_id: uuid.UUID, contact_id: uuid.UUID, now: datetime) -> str:
        token = _token(self._confirm, tenant_id, contact_id, int(now.timestamp()))
        return f"{self.public_url}{CONFIRM_PATH}{token}"

    def unsubscribe(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> str:
        token = _token(self._unsubscribe, tenant_id, message_id, 0)
        return f"{self.public_url}{UNSUBSCRIBE_PATH}{token}"

    def view(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> str:
        token = _token(self._view, tenant_id, message_id, 0)
        return f"{self.public_url}{VIEW_PATH}{token}"

    def read_view(self, token: str) -> Token:
        return _read(self._view, token)

    def read_confirmation(self, token: str, now: datetime) -> Token:
        """The link's token, or LinkNotFound (404) if it was altered or has expired."""
        found = _read(self._confirm, token)
        if now - datetime.fromtimestamp(found.issued, now.tzinfo) > timedelta(
            days=CONFIRMATION_DAYS
        ):
            raise LinkNotFound(
                f"This confirmation link has expired (links last {CONFIRMATION_DAYS} days)"
            )
        return found

    def read_unsubscribe(self, token: str) -> Token:
        return _read(self._unsubscribe, token)


def _token(signer: Signer, tenant_id: uuid.UUID, subject_id: uuid.UUID, issued: int) -> str:
    message = f"{tenant_id.hex}.{subject_id.hex}.{issued:x}"
    return f"{message}.{signer.sign(message)}"


def _read(signer: Signer, token: str) -> Token:
    parts = token.split(".")
    if len(parts) != 4 or not signer.verify(".".join(parts[:3]), parts[3]):
        raise LinkNotFound()
    try:
        return Token(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), int(parts[2], 16))
    except ValueError:
        raise LinkNotFound() from None
