"""What a chunk job does: send the chunk's queued messages through one open connection.

Each message is rendered for its recipient and staged (`rapport.mail.transport`); then one
short transaction records it as sent (only if it is still queued: a second run of the same
chunk loses that race and drops its copy) with its `email.sent` event; then the end of the
data goes out. A crash before that commit leaves the message queued and the server without a
whole message; after it, only the final line was missing. A refusal of the recipient fails
that message alone; a failing connection ends the job, to be retried with backoff, and the
campaign pauses with the reason when the retries run out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
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
from rapport.mail import smtp
from rapport.mail.compose import header_address, message_bytes, message_id_for
from rapport.mail.service import ConnectionService
from rapport.mail.transport import Handover, maildir_of
from rapport.models.campaigns import CampaignMessage, MessageStatus
from rapport.tenancy.service import WorkspaceService

ERROR_LIMIT = 1000


class ConnectionFailed(Exception):
    """The connection cannot take messages now: the job is tried again later."""


class CampaignSender:
    def __init__(self, database: Database, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.database = database
        self.tenant_id = tenant_id
        self.settings = settings
        self.links = EmailLinks.of(settings)

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
        if messages:
            try:
                async with way_out as out:
                    await self._send_all(sending, messages, variables, out)
            except smtp.SmtpFailure as exc:
                raise ConnectionFailed(exc.message) from exc
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self.context(session)
            await CampaignService(context, self.settings).finish_if_done(campaign_id)

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
    ) -> None:
        interval = (
            1 / self.settings.campaign_sends_per_second
            if self.settings.campaign_sends_per_second
            else 0.0
        )
        campaign = sending.campaign
        began = time.monotonic()
        for index, message in enumerate(messages):
            if interval:
                await asyncio.sleep(max(0.0, began + index * interval - time.monotonic()))
            try:
                mime = self._message(
                    sending, message, variables.get(message.contact_id or message.id, {})
                )
            except AppError as exc:  # a merge value the content cannot render
                reason = f"The content could not be rendered for this recipient: {exc.message}"
                await self._settle(message, MessageStatus.FAILED, reason)
                continue
            except ValueError as exc:  # an address no header can hold (non-ASCII local part)
                reason = f"No message can be written to this address: {exc}"
                await self._settle(message, MessageStatus.FAILED, reason)
                continue
            try:
                await out.stage(mime, campaign.from_address, message.email)
            except smtp.SmtpFailure as exc:
                if exc.code is None or exc.temporary:
                    raise
                await self._settle(message, MessageStatus.FAILED, exc.message)
                continue
            if not await self._settle(message, MessageStatus.SENT, None, while_sending=True):
                # Paused or cancelled meanwhile, or another run sent it: not this copy.
                await out.abandon()
                if not await self._still_sending(campaign.id):
                    return
                continue
            try:
                await out.release()
            except smtp.SmtpFailure as exc:
                if exc.code is None:
                    raise
                await self._settle(
                    message, MessageStatus.FAILED, exc.message, was=MessageStatus.SENT
                )

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

    async def _settle(
        self,
        message: CampaignMessage,
        status: MessageStatus,
        reason: str | None,
        *,
        was: MessageStatus = MessageStatus.QUEUED,
        while_sending: bool = False,
    ) -> bool:
        """Record the message's outcome and its event in a transaction of its own (with
        `while_sending`, only while its campaign is sending)."""
        async with self.database.transaction(workspace=self.tenant_id) as session:
            now = utcnow()
            settled = await MessageRepository(session).settle(
                message.id,
                status,
                reason[:ERROR_LIMIT] if reason else None,
                now if status == MessageStatus.SENT else None,
                was=was,
                while_sending=while_sending,
            )
            if settled:
                event = "email.sent" if status == MessageStatus.SENT else "email.failed"
                record_message_event(
                    EventRecorder(Context(session, self.tenant_id)),
                    event,
                    message,
                    status=status.value,
                    reason=reason,
                )
            return settled

    async def _still_sending(self, campaign_id: uuid.UUID) -> bool:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self.context(session)
            return await CampaignService(context, self.settings).sending(campaign_id) is not None
