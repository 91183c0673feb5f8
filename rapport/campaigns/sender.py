"""What a chunk job does: send the chunk's queued messages through one open connection.

Each message is rendered for its recipient and staged (`rapport.mail.transport`); then a
short transaction records it as sent (only if it is still queued and its campaign sending: a
second run of the same chunk loses that race and drops its copy) with its `email.sent` event;
then the end of the data goes out. The chunks a worker sends at once share those
transactions (`rapport.kit.group_commit`): each records every message staged meanwhile.
A crash before that commit leaves the message queued and the server without a whole
message; after it, only the final line was missing. A refusal of the recipient fails
that message alone; a failing connection ends the job, to be retried with backoff, and the
campaign pauses with the reason when the retries run out.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
import weakref
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rapport.campaigns.repository import MessageRepository
from rapport.campaigns.service import (
    CampaignService,
    Sending,
    recipient_variables,
    record_message_event,
    render_for,
)
from rapport.config import Settings
from rapport.consent.links import EmailLinks
from rapport.events.service import EventRecorder
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.crypto import UndecryptableSecret
from rapport.kit.db import Database
from rapport.kit.errors import AppError
from rapport.kit.group_commit import GroupCommit
from rapport.mail import smtp
from rapport.mail.compose import header_address, message_bytes, message_id_for
from rapport.mail.service import ConnectionService, take_sending_slots
from rapport.mail.transport import Handover, maildir_of
from rapport.models.campaigns import CampaignMessage, MessageStatus
from rapport.tenancy.service import WorkspaceService

ERROR_LIMIT = 1000


class ConnectionFailed(Exception):
    """The connection cannot take messages now: the job is tried again later."""


PACED_WAIT_SECONDS = 60.0
"""The longest a paced job waits for a slot within its SMTP session."""
PACED_SESSION_SECONDS = 15 * 60.0
"""How long a paced job keeps its SMTP session before leaving the rest to another job."""

SentRecords = GroupCommit[CampaignMessage, bool]

_sent_records: weakref.WeakKeyDictionary[Database, dict[uuid.UUID, SentRecords]] = (
    weakref.WeakKeyDictionary()
)


def sent_records(database: Database, tenant_id: uuid.UUID) -> SentRecords:
    """The workspace's one group commit of sent messages in this process."""
    of_database = _sent_records.setdefault(database, {})
    records = of_database.get(tenant_id)
    if records is None:

        async def record(messages: Sequence[CampaignMessage]) -> list[bool]:
            async with database.transaction(workspace=tenant_id) as session:
                settled = await MessageRepository(session).settle_sent(
                    [message.id for message in messages], utcnow()
                )
                events = EventRecorder(Context(session, tenant_id))
                for message in messages:
                    if message.id in settled:
                        record_message_event(
                            events,
                            "email.sent",
                            message,
                            status=MessageStatus.SENT.value,
                            reason=None,
                        )
            return [message.id in settled for message in messages]

        records = of_database[tenant_id] = GroupCommit(record)
    return records


class Pace:
    """The sending slots of a connection with a limit of messages per second, shared by every
    job and worker through the connection's row: taken about a second's worth at a time,
    each message waiting for its own."""

    def __init__(
        self, database: Database, tenant_id: uuid.UUID, connection_id: uuid.UUID, rate: float
    ) -> None:
        self.database = database
        self.tenant_id = tenant_id
        self.connection_id = connection_id
        self.rate = rate
        self.slots: deque[float] = deque()
        self.until = time.time() + PACED_SESSION_SECONDS

    async def turn(self, remaining: int) -> float | None:
        """Wait for the next slot; `remaining` messages (this one included) are still to go.
        None when it is the message's turn; else the time (seconds since the epoch) its slot
        opens, too far off to hold the SMTP session open for (a server closes an idle one
        after a few minutes; a session lasts an hour at most): the job stops there and a
        later one goes on."""
        if not self.slots:
            count = max(1, min(remaining, math.ceil(self.rate)))
            async with self.database.transaction(workspace=self.tenant_id) as session:
                first = await take_sending_slots(
                    Context(session, self.tenant_id), self.connection_id, count, self.rate
                )
            if first is None:
                raise ConnectionFailed("Its outbound email connection was deleted")
            self.slots.extend(first + n / self.rate for n in range(count))
        slot = self.slots.popleft()
        now = time.time()
        if slot - now > PACED_WAIT_SECONDS or slot > self.until:
            return slot
        await asyncio.sleep(max(0.0, slot - now))
        return None


class CampaignSender:
    def __init__(self, database: Database, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.database = database
        self.tenant_id = tenant_id
        self.settings = settings
        self.links = EmailLinks.of(settings)
        self.sent = sent_records(database, tenant_id)

    async def context(self, session: Any) -> Context:
        workspace = await WorkspaceService(session).get(self.tenant_id)
        return Context.bound(session, self.tenant_id, workspace.settings)

    async def send_chunk(self, campaign_id: uuid.UUID, chunk: int) -> None:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self.context(session)
            sending = await CampaignService(context, self.settings).sending(campaign_id)
            if sending is None:
                return
            queued = await MessageRepository(session).queued_in_chunk(campaign_id, chunk)
            messages = await CampaignService(context, self.settings).still_eligible(queued)
            variables = await recipient_variables(context, messages)
            connections = ConnectionService(
                context,
                allow_private=self.settings.allow_private_smtp,
                secret_key=self.settings.resolved_secret_key(),
            )
            campaign = sending.campaign
            connection = None
            if campaign.connection_id is not None:
                connection = await connections.find(campaign.connection_id)
                if connection is None:
                    raise ConnectionFailed("Its outbound email connection was deleted")
            try:
                way_out = connections.handover(
                    connection, maildir_of(self.settings.data_dir, self.tenant_id)
                )
            except UndecryptableSecret as exc:
                raise ConnectionFailed(
                    "The connection's password does not open with this server's secret key"
                ) from exc
        pace = None
        if connection is not None and connection.max_messages_per_second:
            pace = Pace(
                self.database, self.tenant_id, connection.id, connection.max_messages_per_second
            )
        later = None
        if messages:
            try:
                async with way_out as out:
                    later = await self._send_all(sending, messages, variables, out, pace)
            except smtp.SmtpFailure as exc:
                raise ConnectionFailed(exc.message) from exc
        async with self.database.transaction(workspace=self.tenant_id) as session:
            service = CampaignService(await self.context(session), self.settings)
            if later is None:
                await service.finish_if_done(campaign_id)
            else:
                await service.send_later(campaign_id, chunk, later)

    async def halt(self, campaign_id: uuid.UUID, reason: str) -> None:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self.context(session)
            await CampaignService(context, self.settings).halt(campaign_id, reason)

    async def _send_all(
        self,
        sending: Sending,
        messages: list[CampaignMessage],
        variables: dict[uuid.UUID, dict[str, Any]],
        out: Handover,
        pace: Pace | None,
    ) -> datetime | None:
        """Send the messages; when the pace leaves the rest for later, the time to go on."""
        campaign = sending.campaign
        for index, message in enumerate(messages):
            if pace is not None:
                later = await pace.turn(len(messages) - index)
                if later is not None:
                    return datetime.fromtimestamp(later, UTC)
            try:
                mime = self._message(
                    sending, message, variables.get(message.contact_id or message.id, {})
                )
            except AppError as exc:  # a merge value the content cannot render
                reason = f"The content could not be rendered for this recipient: {exc.message}"
                await self._failed(message, reason)
                continue
            except ValueError as exc:  # an address no header can hold (non-ASCII local part)
                reason = f"No message can be written to this address: {exc}"
                await self._failed(message, reason)
                continue
            try:
                await out.stage(mime, campaign.from_address, message.email)
            except smtp.SmtpFailure as exc:
                if exc.code is None or exc.temporary:
                    raise
                await self._failed(message, exc.message)
                continue
            if not await self.sent.submit(message):
                # Paused or cancelled meanwhile, or another run sent it: not this copy.
                await out.abandon()
                if not await self._still_sending(campaign.id):
                    return None
                continue
            try:
                await out.release()
            except smtp.SmtpFailure as exc:
                if exc.code is None:
                    raise
                await self._failed(message, exc.message, was=MessageStatus.SENT)
        return None

    def _message(
        self, sending: Sending, message: CampaignMessage, variables: dict[str, Any]
    ) -> bytes:
        campaign = sending.campaign
        unsubscribe = self.links.unsubscribe(self.tenant_id, message.id)
        rendered = render_for(campaign, sending.content, self.links, message, variables)
        headers = [
            (
                "List-Unsubscribe",
                f"<{unsubscribe}>, <mailto:{campaign.from_address}?subject=unsubscribe>",
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("List-Id", f"<{campaign.id}.{campaign.from_address.rpartition('@')[2]}>"),
            ("Precedence", "bulk"),
        ]
        if campaign.reply_to:
            headers.append(("Reply-To", campaign.reply_to))
        return message_bytes(
            sender=header_address(campaign.from_address, campaign.from_name),
            recipient=message.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            message_id=message_id_for(message.id, campaign.from_address),
            date=utcnow(),
            headers=headers,
        )

    async def _failed(
        self, message: CampaignMessage, reason: str, *, was: MessageStatus = MessageStatus.QUEUED
    ) -> None:
        """Record a message that did not go out, and its event, in a transaction of its own."""
        async with self.database.transaction(workspace=self.tenant_id) as session:
            failed = await MessageRepository(session).settle(
                message.id, MessageStatus.FAILED, reason[:ERROR_LIMIT], was=was
            )
            if failed:
                record_message_event(
                    EventRecorder(Context(session, self.tenant_id)),
                    "email.failed",
                    message,
                    status=MessageStatus.FAILED.value,
                    reason=reason,
                )

    async def _still_sending(self, campaign_id: uuid.UUID) -> bool:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self.context(session)
            return await CampaignService(context, self.settings).sending(campaign_id) is not None
