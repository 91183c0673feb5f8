"""Links in emails that act without a login: confirming a subscription, unsubscribing. Each
carries the workspace, the record it is about and an HMAC of both (a key derived from the
app's secret key, one per kind of link), so a link cannot be altered or made for another
record or workspace; a confirmation link also carries when it was issued, and expires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from rapport.config import Settings
from rapport.kit.crypto import Signer
from rapport.kit.errors import NotFound

CONFIRMATION_DAYS = 30
TOKEN_LENGTH = 200
CONFIRM_PATH = "/email/confirm/"
UNSUBSCRIBE_PATH = "/email/unsubscribe/"
VIEW_PATH = "/email/view/"
OPEN_PATH = "/email/open/"
CLICK_PATH = "/email/click/"


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
        self._open = Signer(secret_key, "email open pixels")
        self._click = Signer(secret_key, "email click links")

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

    def opened(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> str:
        token = _token(self._open, tenant_id, message_id, 0)
        return f"{self.public_url}{OPEN_PATH}{token}"

    def read_open(self, token: str) -> Token:
        return _read(self._open, token)

    def clicked(self, tenant_id: uuid.UUID, message_id: uuid.UUID, url: str) -> str:
        """A redirect to `url` through Rapport, which counts the click: the token signs the
        address too, so the link leads nowhere but where the message pointed."""
        token = _token(self._click, tenant_id, message_id, 0, url)
        return f"{self.public_url}{CLICK_PATH}{token}?{urlencode({'url': url})}"

    def read_click(self, token: str, url: str) -> Token:
        return _read(self._click, token, url)

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


def _token(
    signer: Signer, tenant_id: uuid.UUID, subject_id: uuid.UUID, issued: int, extra: str = ""
) -> str:
    """`extra` is signed too, not carried: the link carries it beside the token."""
    message = f"{tenant_id.hex}.{subject_id.hex}.{issued:x}"
    return f"{message}.{signer.sign(_signed(message, extra))}"


def _signed(message: str, extra: str) -> str:
    return f"{message}\n{extra}" if extra else message


def _read(signer: Signer, token: str, extra: str = "") -> Token:
    if len(token) > TOKEN_LENGTH:
        raise LinkNotFound()
    parts = token.split(".")
    if len(parts) != 4 or not signer.verify(_signed(".".join(parts[:3]), extra), parts[3]):
        raise LinkNotFound()
    try:
        return Token(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), int(parts[2], 16))
    except ValueError:
        raise LinkNotFound() from None
