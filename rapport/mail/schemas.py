"""Wire shapes of outbound email connections and outbound emails."""

from __future__ import annotations

import ipaddress
import uuid
from contextlib import suppress
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from rapport.kit.normalize import is_host_name
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.mail.compose import ascii_address
from rapport.models.mail import MailChannel, OutboundEmail, OutboundEmailStatus, TlsMode

BODY_LIMIT = 500_000
_NOT_IN_HOSTS = set("/:@?#[]\\ ")

_CHANNEL_DOC = (
    "`smtp`, or `gmail` / `outlook` to name the provider: those go through the provider's SMTP "
    "server with an app password too (signing in with Google or Microsoft, OAuth, is not "
    "supported yet)"
)
_HOST_DOC = (
    "The SMTP server's host name or IP address; it must be on a public address (loopback and "
    "private addresses only when the server sets RAPPORT_ALLOW_PRIVATE_SMTP=1)"
)
_TLS_DOC = (
    "`starttls` (usually port 587): upgrade a plain connection with STARTTLS, required; `tls` "
    "(usually port 465): TLS from the start; `none`: no encryption, password sent in clear"
)
_PASSWORD_DOC = (
    "The account's password or app password; stored encrypted, never shown in any response "
    "(`hasPassword` says there is one)"
)
_FROM_DOC = "The sender's address (the From header and the envelope sender)"
_FROM_NAME_DOC = "The sender's name shown beside the address (From: Name <address>)"
_RATE_DOC = (
    "At most this many campaign messages a second through this connection, however many "
    "campaigns and workers send at once (a fraction is fine: 0.5 is one every two seconds; "
    "from 0.001, one every 1,000 seconds, to 100,000); null or left out: as fast as the "
    "server takes them"
)
Rate = Annotated[float, Field(strict=True, ge=0.001, le=100_000)]
"""A number (not a string or a boolean) of messages a second."""


def _one_line(value: str | None) -> str | None:
    """Header values are one line: a line break could smuggle in headers of its own."""
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError("Line breaks are not allowed")
    return value


def _host(value: str) -> str:
    """A host name or an IP address, as a resolver takes it: no scheme, port or path."""
    host = value.strip().lower()
    with suppress(ValueError):
        return str(ipaddress.ip_address(host.removeprefix("[").removesuffix("]")))
    if (
        not host
        or any(char in _NOT_IN_HOSTS or not char.isprintable() for char in host)
        or not is_host_name(host)
    ):
        raise ValueError("A host name or IP address only, such as smtp.example.com")
    return host


def _write_only(schema: dict[str, Any]) -> None:
    schema["writeOnly"] = True


def _write_only_not_null(schema: dict[str, Any]) -> None:
    not_null(schema)
    _write_only(schema)


OneLine = Annotated[str, AfterValidator(_one_line)]
EmailAddress = Annotated[str, AfterValidator(ascii_address)]
Host = Annotated[str, AfterValidator(_host)]

_CONNECTION_EXAMPLE: dict[str, Any] = {
    "name": "Sales mailbox",
    "channel": "smtp",
    "host": "smtp.example.com",
    "port": 587,
    "tlsMode": "starttls",
    "username": "sales@example.com",
    "password": "app-password-from-your-provider",
    "fromAddress": "sales@example.com",
    "fromName": "Acme Sales",
}


class ConnectionCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CONNECTION_EXAMPLE]})

    name: OneLine = Field(
        min_length=1,
        max_length=200,
        description="Unique in the workspace",
        examples=["Sales mailbox"],
    )
    channel: MailChannel = Field(default=MailChannel.SMTP, description=_CHANNEL_DOC)
    host: Host = Field(
        min_length=1, max_length=253, description=_HOST_DOC, examples=["smtp.example.com"]
    )
    port: int = Field(ge=1, le=65535, examples=[587])
    tls_mode: TlsMode = Field(default=TlsMode.STARTTLS, description=_TLS_DOC)
    username: str = Field(min_length=1, max_length=320, examples=["sales@example.com"])
    password: str = Field(
        min_length=1,
        max_length=512,
        description=_PASSWORD_DOC,
        json_schema_extra=_write_only,
    )
    from_address: EmailAddress = Field(
        max_length=320, description=_FROM_DOC, examples=["sales@example.com"]
    )
    from_name: OneLine | None = Field(
        default=None, max_length=200, description=_FROM_NAME_DOC, examples=["Acme Sales"]
    )
    max_messages_per_second: Rate | None = Field(default=None, description=_RATE_DOC, examples=[14])


class ConnectionUpdate(InputModel):
    """Only the fields sent change; `fromName: null` clears the sender's name."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"fromName": "Acme Sales Team", "name": "Sales"}]}
    )

    name: OneLine | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=200,
        description="Unique in the workspace",
    )
    channel: MailChannel | None = Field(
        default=None, json_schema_extra=not_null, description=_CHANNEL_DOC
    )
    host: Host | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=253,
        description=_HOST_DOC,
    )
    port: int | None = Field(default=None, json_schema_extra=not_null, ge=1, le=65535)
    tls_mode: TlsMode | None = Field(default=None, json_schema_extra=not_null, description=_TLS_DOC)
    username: str | None = Field(
        default=None, json_schema_extra=not_null, min_length=1, max_length=320
    )
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description=_PASSWORD_DOC + "; left out, the stored one is kept",
        json_schema_extra=_write_only_not_null,
    )
    from_address: EmailAddress | None = Field(
        default=None, json_schema_extra=not_null, max_length=320, description=_FROM_DOC
    )
    from_name: OneLine | None = Field(
        default=None, max_length=200, description=_FROM_NAME_DOC + "; null clears it"
    )
    max_messages_per_second: Rate | None = Field(
        default=None,
        description=_RATE_DOC.replace("null or left out", "null")
        + "; a change applies to the sending jobs that start after it",
    )


class ConnectionOut(WireModel):
    id: uuid.UUID
    name: str = Field(examples=["Sales mailbox"])
    channel: MailChannel
    host: str = Field(examples=["smtp.example.com"])
    port: int = Field(examples=[587])
    tls_mode: TlsMode
    username: str = Field(examples=["sales@example.com"])
    has_password: bool = Field(
        description="Always true: the password is kept encrypted and never shown"
    )
    from_address: str = Field(examples=["sales@example.com"])
    from_name: str | None = Field(examples=["Acme Sales"])
    max_messages_per_second: float | None = Field(description=_RATE_DOC, examples=[14])
    verified_at: datetime = Field(
        description="When the server last accepted the connection and login (on creation and "
        "on each change)"
    )
    created_at: datetime
    updated_at: datetime


class OutboundEmailCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contactId": "5f0c6a52-8a4e-4b8e-9a57-2f1d3c4b5a69",
                    "connectionId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b",
                    "subject": "Your proposal",
                    "htmlBody": "<p>Hi Ada,</p><p>Here is the <b>Growth plan</b> proposal we "
                    'discussed: <a href="https://example.com/proposal">read it online</a>.</p>'
                    "<p>Best,<br>Sam</p>",
                }
            ]
        }
    )

    contact_id: uuid.UUID | None = Field(
        default=None,
        description="The contact to write to, at its email address (a merged contact's id "
        "writes to the contact it was merged into); 422 when it has none. Left out with a "
        "`leadId`: the lead's contact",
    )
    lead_id: uuid.UUID | None = Field(
        default=None,
        description="The lead the email is about: the email is logged on the lead's timeline "
        "too, and goes to the lead's contact unless `contactId` names another",
    )
    connection_id: uuid.UUID = Field(description="The outbound email connection to send through")
    channel: MailChannel | None = Field(
        default=None, description="If sent, must be the connection's channel"
    )
    subject: OneLine = Field(min_length=1, max_length=300, examples=["Your proposal"])
    html_body: str = Field(
        min_length=1,
        max_length=BODY_LIMIT,
        description="The message as HTML; scripts, style sheets, event handlers, forms and "
        "unsafe links are removed before it is stored and sent",
    )
    text_body: str | None = Field(
        default=None,
        min_length=1,
        max_length=BODY_LIMIT,
        description="The plain-text part; derived from the HTML when left out",
    )
    to: EmailAddress | None = Field(
        default=None,
        max_length=320,
        description="Optional: the recipient is always the contact's email address, and `to`, "
        "if sent, must be that address (any case)",
    )


class OutboundEmailOut(WireModel):
    id: uuid.UUID
    status: OutboundEmailStatus = Field(
        description="queued (a job sends it, and retries while the server answers 4xx or "
        "cannot be reached), sent (the server accepted it) or failed (refused with 5xx, or "
        "retries ran out: `error` has the server's reply)"
    )
    connection_id: uuid.UUID | None = Field(
        description="The connection it goes through; null once that connection is deleted"
    )
    contact_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    activity_id: uuid.UUID | None = Field(
        description="The EMAIL activity on the contact's timeline, whose `properties.delivery` "
        "follows the status"
    )
    to: str = Field(examples=["ada@example.com"], description="The recipient's address")
    subject: str = Field(examples=["Your proposal"])
    html_body: str = Field(description="As sent: sanitised")
    text_body: str = Field(description="As sent: given, or derived from the HTML")
    message_id: str = Field(
        description="The Message-ID header, the same on every attempt",
        examples=["<01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b@example.com>"],
    )
    error: str | None = Field(
        description="Why it failed: the server's reply", examples=["550 5.1.1 No such user"]
    )
    attempts: int = Field(description="Attempts made to send it, once it is sent or failed")
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, email: OutboundEmail) -> OutboundEmailOut:
        return cls(
            id=email.id,
            status=email.status,
            connection_id=email.connection_id,
            contact_id=email.contact_id,
            lead_id=email.lead_id,
            activity_id=email.activity_id,
            to=email.to_address,
            subject=email.subject,
            html_body=email.html_body,
            text_body=email.text_body,
            message_id=email.message_id,
            error=email.error,
            attempts=email.attempts,
            sent_at=email.sent_at,
            created_at=email.created_at,
            updated_at=email.updated_at,
        )
