"""Outbound email rules: connections verified against their server before they are saved,
passwords kept encrypted; emails queued with an EMAIL activity on the contact's timeline, then
sent by a job, which records what the server answered on the email and on the activity."""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_camel

from rapport.activities.schemas import CONTENT_LIMIT, ActivityLog
from rapport.activities.service import ActivityService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder, changes_between
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.crypto import SecretBox, UndecryptableSecret
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict, NotFound, field_error
from rapport.kit.ids import new_id
from rapport.kit.normalize import clean, not_blank
from rapport.kit.pagination import PageRequest
from rapport.mail import smtp, transport
from rapport.mail.compose import (
    ascii_address,
    header_address,
    message_bytes,
    message_id_for,
    sanitize_html,
    text_of,
)
from rapport.mail.repository import ConnectionRepository, OutboundEmailRepository, name_taken
from rapport.mail.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionUpdate,
    OutboundEmailCreate,
    OutboundEmailOut,
)
from rapport.models.mail import OutboundEmail, OutboundEmailConnection, OutboundEmailStatus
from rapport.sales.leads import LeadService
from rapport.suppressions.service import SuppressionService
from rapport.worker.queue import enqueue

SEND_TASK = "mail.send"
ERROR_LIMIT = 1000

# Which field of a connection a failed check points at.
_FIELD_OF_STAGE = {
    smtp.Stage.ADDRESS: "host",
    smtp.Stage.CONNECT: "host",
    smtp.Stage.TLS: "tlsMode",
    smtp.Stage.LOGIN: "password",
    smtp.Stage.SEND: "host",
}
_SETTINGS = ("channel", "host", "port", "tls_mode", "username", "from_address", "from_name")
_NULLABLE = frozenset({"from_name", "max_messages_per_second"})
_UNVERIFIED = frozenset({"max_messages_per_second"})
"""Fields whose change needs no new word from the server."""


class EmailNotSent(AppError):
    status_code = 502
    code = "EMAIL_NOT_SENT"
    default_message = "The mail server did not take the email"


@dataclass(frozen=True)
class Letter:
    """An email sent at once, the same to each recipient."""

    subject: str
    html: str
    text: str
    from_address: str
    from_name: str | None = None
    reply_to: str | None = None


async def take_sending_slots(
    context: Context, connection_id: uuid.UUID, count: int, rate: float
) -> float | None:
    """The connection's next `count` slots at `rate` messages a second, shared by every
    worker: when the first opens (seconds since the epoch), or None if it is gone."""
    return await ConnectionRepository(context.session).take_slots(
        connection_id, count, rate, time.time()
    )


def local_sender(public_url: str) -> str:
    """The From of mail sent without a connection (into the local maildir): no-reply at the
    host of the server's public address."""
    host = public_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"no-reply@{host if '.' in host else host + '.localdomain'}"


def password_box(secret_key: str) -> SecretBox:
    """What encrypts SMTP passwords (`encrypted_password`, bound to the connection's id)."""
    return SecretBox(secret_key, "smtp passwords")


class ConnectionService:
    def __init__(self, context: Context, *, allow_private: bool, secret_key: str) -> None:
        self.session = context.session
        self.repo = ConnectionRepository(context.session)
        self.events = EventRecorder(context)
        self.allow_private = allow_private
        self.passwords = password_box(secret_key)

    async def page(self, page: PageRequest) -> tuple[list[OutboundEmailConnection], PageMeta]:
        return await self.repo.page(page)

    async def get(self, connection_id: uuid.UUID) -> OutboundEmailConnection:
        connection = await self.repo.get(connection_id)
        if connection is None:
            raise NotFound("Outbound email connection not found")
        return connection

    async def find(self, connection_id: uuid.UUID) -> OutboundEmailConnection | None:
        return await self.repo.get(connection_id)

    async def create(self, data: ConnectionCreate) -> OutboundEmailConnection:
        """Saved only once its server accepted the connection and the login."""
        name = not_blank(data.name, "name")
        holder = await self.repo.by_name(name)
        if holder is not None:
            raise name_taken(holder.id)
        connection = OutboundEmailConnection(
            id=new_id(),
            name=name,
            max_messages_per_second=data.max_messages_per_second,
            **{field: getattr(data, field) for field in _SETTINGS},
        )
        connection.from_name = clean(connection.from_name)
        await self._verify(connection, data.password)
        connection.encrypted_password = self._seal(connection, data.password)
        connection.verified_at = utcnow()
        self.repo.add(connection)
        await self.repo.flush()
        self.events.record(
            "outbound_email_connection.created",
            "outbound_email_connection",
            connection.id,
            {"record": connection_record(connection)},
        )
        return connection

    async def update(
        self, connection_id: uuid.UUID, patch: ConnectionUpdate
    ) -> OutboundEmailConnection:
        """Changes the fields sent; a connection that changed in anything but its pace is
        verified again, with the stored password unless a new one is sent, and saved only if
        its server accepts it."""
        connection = await self.get(connection_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        for field in sent - _NULLABLE:
            if getattr(patch, field) is None:
                raise field_error(to_camel(field), "Cannot be null")
        changes: dict[str, Any] = {
            field: getattr(patch, field) for field in sent if field != "password"
        }
        if "name" in changes:
            changes["name"] = not_blank(changes["name"], "name")
        if "from_name" in changes:
            changes["from_name"] = clean(changes["from_name"])
        changes = {k: v for k, v in changes.items() if getattr(connection, k) != v}
        password = patch.password
        if not changes and password is None:
            return connection
        if "name" in changes:
            holder = await self.repo.by_name(changes["name"], exclude_id=connection.id)
            if holder is not None:
                raise name_taken(holder.id)
        before = connection_record(connection)
        if password is not None or changes.keys() - _UNVERIFIED:
            if password is None:
                password = self._open(connection, field="password")
            candidate = OutboundEmailConnection(
                **{field: changes.get(field, getattr(connection, field)) for field in _SETTINGS}
            )
            await self._verify(candidate, password)
            connection.verified_at = utcnow()
        for field, value in changes.items():
            setattr(connection, field, value)
        if patch.password is not None:
            connection.encrypted_password = self._seal(connection, patch.password)
        await self.repo.flush()
        record = connection_record(connection)
        data: dict[str, Any] = {"record": record, "changes": changes_between(before, record)}
        if patch.password is not None:
            data["passwordChanged"] = True
        self.events.record(
            "outbound_email_connection.updated", "outbound_email_connection", connection.id, data
        )
        return connection

    async def delete(self, connection_id: uuid.UUID) -> None:
        """Emails sent through it keep their record; those still queued fail."""
        connection = await self.get(connection_id)
        record = connection_record(connection)
        await self.session.delete(connection)
        await self.repo.flush()
        self.events.record(
            "outbound_email_connection.deleted",
            "outbound_email_connection",
            connection_id,
            {"record": record},
        )

    async def pick(
        self, connection_id: uuid.UUID | None, field: str = "connectionId"
    ) -> OutboundEmailConnection | None:
        """The connection named (422 naming `field` if the workspace has no such one), else
        the workspace's first; None when it has none: mail then goes to the local maildir."""
        if connection_id is None:
            return await self.repo.oldest()
        connection = await self.repo.get(connection_id)
        if connection is None:
            raise field_error(field, "No such outbound email connection in this workspace")
        return connection

    def handover(
        self, connection: OutboundEmailConnection | None, maildir: Path
    ) -> AbstractAsyncContextManager[transport.Handover]:
        """A way out through the connection's server, or into `maildir` without one;
        UndecryptableSecret if the stored password does not open."""
        server = None if connection is None else self.smtp_of(connection)
        return transport.handover(server, maildir, allow_private=self.allow_private)

    async def send_now(
        self,
        connection: OutboundEmailConnection | None,
        maildir: Path,
        recipients: Sequence[str],
        letter: Letter,
    ) -> None:
        """Send the letter to each recipient at once, through the connection (one session)
        or into `maildir` without one (a confirmation, a test send); EmailNotSent (502) with
        the server's reply when it does not take one."""
        sender = letter.from_address
        try:
            async with self.handover(connection, maildir) as out:
                for recipient in recipients:
                    message = message_bytes(
                        sender=header_address(sender, letter.from_name),
                        recipient=recipient,
                        subject=letter.subject,
                        html=letter.html,
                        text=letter.text,
                        message_id=message_id_for(new_id(), sender),
                        date=utcnow(),
                        headers=[("Reply-To", letter.reply_to)] if letter.reply_to else (),
                    )
                    await out.stage(message, sender, recipient)
                    await out.release()
        except smtp.SmtpFailure as exc:
            raise EmailNotSent(f"The email was not sent: {exc.message}") from exc
        except UndecryptableSecret as exc:
            raise EmailNotSent(
                "The connection's password does not open with this server's secret key"
            ) from exc

    def smtp_of(self, connection: OutboundEmailConnection) -> smtp.SmtpConnection:
        """How to reach the connection's server; UndecryptableSecret if its stored password
        does not open with this server's secret key."""
        password = self.passwords.open(connection.encrypted_password, bound_to=str(connection.id))
        return _smtp_connection(connection, password)

    async def _verify(self, connection: OutboundEmailConnection, password: str) -> None:
        """422 naming the field at fault, with the server's answer, unless the server accepts
        the connection and the login."""
        try:
            await smtp.verify(
                _smtp_connection(connection, password), allow_private=self.allow_private
            )
        except smtp.SmtpFailure as exc:
            raise field_error(_FIELD_OF_STAGE[exc.stage], exc.message) from exc

    def _seal(self, connection: OutboundEmailConnection, password: str) -> str:
        return self.passwords.seal(password, bound_to=str(connection.id))

    def _open(self, connection: OutboundEmailConnection, *, field: str) -> str:
        try:
            return self.passwords.open(connection.encrypted_password, bound_to=str(connection.id))
        except UndecryptableSecret as exc:
            raise field_error(
                field,
                "The stored password does not open with this server's secret key (it changed); "
                "send the password again",
            ) from exc


@dataclass(frozen=True)
class Recipient:
    """Who an email goes to: the contact, its address, and the lead it is sent for."""

    contact_id: uuid.UUID
    address: str
    lead_id: uuid.UUID | None = None


class EmailsToContacts:
    """The emails written to contacts, as a person's data (no connection needed)."""

    NOT_SENT = "Not sent: its recipient was erased"

    def __init__(self, context: Context) -> None:
        self.repo = OutboundEmailRepository(context.session)

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[OutboundEmail]:
        return await self.repo.to_contacts(contact_ids)

    async def redact(self, contact_ids: Collection[uuid.UUID]) -> int:
        """An erasure: the emails to these contacts stay (status, times, attempts: what
        was sent when) without address, subject, bodies, server reply or contact; one still
        queued fails instead, and its job finds nothing to send. How many."""
        redacted = {
            "to_address": "",
            "subject": "",
            "html_body": "",
            "text_body": "",
            "contact_id": None,
        }
        queued = OutboundEmail.status == OutboundEmailStatus.QUEUED
        done = await self.repo.update_to_contacts(contact_ids, ~queued, error=None, **redacted)
        failed = await self.repo.update_to_contacts(
            contact_ids, queued, status=OutboundEmailStatus.FAILED, error=self.NOT_SENT, **redacted
        )
        return done + failed


class SendLater(Exception):
    """A temporary failure (a 4xx reply, a server that cannot be reached): try again later."""


class OutboundEmailService:
    def __init__(self, context: Context, *, allow_private: bool, secret_key: str) -> None:
        self.context = context
        self.session = context.session
        self.tenant_id = context.workspace_id
        self.repo = OutboundEmailRepository(context.session)
        self.connections = ConnectionService(
            context, allow_private=allow_private, secret_key=secret_key
        )
        self.events = EventRecorder(context)
        self.allow_private = allow_private

    async def get(self, email_id: uuid.UUID) -> OutboundEmail:
        email = await self.repo.get(email_id)
        if email is None:
            raise NotFound("Outbound email not found")
        return email

    async def queue(self, data: OutboundEmailCreate) -> OutboundEmail:
        """Store the email, log it on the contact's timeline and queue the job sending it."""
        subject = not_blank(data.subject, "subject")
        if data.text_body is not None and not data.text_body.strip():
            raise field_error("textBody", "Cannot be blank (leave it out to derive it)")
        recipient = await self._recipient(data)
        connection = await self._connection(data)
        html = sanitize_html(data.html_body)
        if not html.strip():
            raise field_error("htmlBody", "Nothing is left to send once unsafe markup is removed")
        text = data.text_body or text_of(html)
        email_id = new_id()
        message_id = message_id_for(email_id, connection.from_address)
        activity = await ActivityService(self.context).log(
            ActivityLog(
                type="EMAIL",
                subject=subject,
                content=text[:CONTENT_LIMIT] or None,
                properties={"delivery": _delivery(email_id, message_id, "queued")},
                contact_id=recipient.contact_id,
                lead_id=recipient.lead_id,
            )
        )
        email = self.repo.add(
            OutboundEmail(
                id=email_id,
                connection_id=connection.id,
                contact_id=recipient.contact_id,
                lead_id=recipient.lead_id,
                activity_id=activity.id,
                to_address=recipient.address,
                subject=subject,
                html_body=html,
                text_body=text,
                status=OutboundEmailStatus.QUEUED,
                message_id=message_id,
                attempts=0,
            )
        )
        await self.repo.flush()
        await enqueue(self.session, SEND_TASK, {"emailId": str(email.id)}, tenant_id=self.tenant_id)
        self._emit("outbound_email.queued", email)
        return email

    async def send(self, email_id: uuid.UUID, attempt: int) -> None:
        """Send a queued email (the job's `attempt`-th try): the server's answer is recorded
        when it accepts or refuses for good; SendLater when it may accept later. Nothing is
        written before the server has answered."""
        email = await self.repo.get(email_id)
        if email is None or email.status != OutboundEmailStatus.QUEUED:
            return  # sent or failed by an earlier run
        connection = None
        if email.connection_id is not None:
            connection = await self.connections.find(email.connection_id)
        if connection is None:
            reason = "Not sent: its outbound email connection was deleted"
            await self._finish(email, OutboundEmailStatus.FAILED, attempt, reason)
            return
        try:
            server = self.connections.smtp_of(connection)
        except UndecryptableSecret as exc:
            raise SendLater(
                "Not sent: the connection's password does not open with this server's secret "
                "key; every Rapport process must use the key it was stored with"
            ) from exc
        message = message_bytes(
            sender=header_address(connection.from_address, connection.from_name),
            recipient=email.to_address,
            subject=email.subject,
            html=email.html_body,
            text=email.text_body,
            message_id=email.message_id,
            date=utcnow(),
        )
        try:
            async with transport.handover(server, None, allow_private=self.allow_private) as out:
                await out.stage(message, connection.from_address, email.to_address)
                await out.release()
        except smtp.SmtpFailure as exc:
            if exc.temporary:
                raise SendLater(exc.message) from exc
            await self._finish(email, OutboundEmailStatus.FAILED, attempt, exc.message)
            return
        await self._finish(email, OutboundEmailStatus.SENT, attempt, None)

    async def give_up(self, email_id: uuid.UUID, attempts: int, error: str) -> None:
        """The job sending a queued email ran out of attempts: the email fails with the last
        error."""
        email = await self.repo.get(email_id)
        if email is not None and email.status == OutboundEmailStatus.QUEUED:
            await self._finish(email, OutboundEmailStatus.FAILED, attempts, error)

    async def _recipient(self, data: OutboundEmailCreate) -> Recipient:
        """The contact `contactId` names, else the contact of the lead `leadId` names, and its
        address."""
        contact_id = data.contact_id
        if data.lead_id is not None:
            try:
                lead = await LeadService(self.context).get(data.lead_id)
            except NotFound as exc:
                raise field_error("leadId", "No such lead in this workspace") from exc
            if contact_id is None and lead.contact_id is None:
                raise field_error("leadId", "The lead has no contact; name one in contactId")
            contact_id = contact_id or lead.contact_id
        if contact_id is None:
            raise field_error("contactId", "Name the contact to write to, or a leadId")
        try:
            contact = await ContactService(self.context).get(str(contact_id))
        except NotFound as exc:
            raise field_error("contactId", "No such contact in this workspace") from exc
        if contact.status == "DELETED":
            raise field_error("contactId", "The contact is deleted")
        if not contact.email:
            raise field_error("contactId", "The contact has no email address")
        try:
            address = ascii_address(contact.email)
        except ValueError as exc:
            raise field_error("contactId", f"The contact's email address: {exc}") from exc
        if data.to is not None and data.to.lower() != address.lower():
            raise field_error("to", "Must be the contact's email address, or left out")
        if await SuppressionService(self.context).suppressed_among([address]):
            raise Conflict(
                "The contact's address is on the suppression list (it bounced, complained "
                "or was put there): no email goes to it",
                code="EMAIL_SUPPRESSED",
            )
        return Recipient(contact_id=contact.id, address=address, lead_id=data.lead_id)

    async def _connection(self, data: OutboundEmailCreate) -> OutboundEmailConnection:
        try:
            connection = await self.connections.get(data.connection_id)
        except NotFound as exc:
            raise field_error(
                "connectionId", "No such outbound email connection in this workspace"
            ) from exc
        if data.channel is not None and data.channel != connection.channel:
            raise field_error("channel", f"The connection's channel is {connection.channel.value}")
        return connection

    async def _finish(
        self,
        email: OutboundEmail,
        status: OutboundEmailStatus,
        attempts: int,
        error: str | None,
    ) -> None:
        """Record the outcome on the email and on its activity, and emit it."""
        email.status = status
        email.attempts = attempts
        email.error = error[:ERROR_LIMIT] if error else None
        if status == OutboundEmailStatus.SENT:
            email.sent_at = utcnow()
        await self.repo.flush()
        if email.activity_id is not None:
            delivery = _delivery(email.id, email.message_id, status.value, email.error)
            await ActivityService(self.context).set_property(
                email.activity_id, "delivery", delivery
            )
        self._emit(f"outbound_email.{status.value}", email)

    def _emit(self, event_type: str, email: OutboundEmail) -> None:
        self.events.record(event_type, "outbound_email", email.id, {"record": email_record(email)})


def _smtp_connection(connection: OutboundEmailConnection, password: str) -> smtp.SmtpConnection:
    return smtp.SmtpConnection(
        host=connection.host,
        port=connection.port,
        tls_mode=connection.tls_mode,
        username=connection.username,
        password=password,
        helo_name=connection.from_address.rpartition("@")[2],
    )


def _delivery(
    email_id: uuid.UUID, message_id: str, status: str, error: str | None = None
) -> dict[str, Any]:
    """What the email's activity carries in `properties.delivery`."""
    return {"status": status, "emailId": str(email_id), "messageId": message_id, "error": error}


def connection_record(connection: OutboundEmailConnection) -> dict[str, Any]:
    """The connection as the API shows it (never its password), which events carry too."""
    return connection_out(connection).model_dump(mode="json")


def connection_out(connection: OutboundEmailConnection) -> ConnectionOut:
    return ConnectionOut(
        id=connection.id,
        name=connection.name,
        channel=connection.channel,
        host=connection.host,
        port=connection.port,
        tls_mode=connection.tls_mode,
        username=connection.username,
        has_password=bool(connection.encrypted_password),
        from_address=connection.from_address,
        from_name=connection.from_name,
        max_messages_per_second=connection.max_messages_per_second,
        verified_at=connection.verified_at,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def email_record(email: OutboundEmail) -> dict[str, Any]:
    """The email as its events carry it: without its bodies, which GET shows."""
    return OutboundEmailOut.of(email).model_dump(mode="json", exclude={"html_body", "text_body"})
