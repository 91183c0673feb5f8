"""Campaign rules: drafts edited freely; `send` schedules the start; the start freezes the
audience into one message row per recipient (skipped ones with their reason) and queues a
job per chunk; each chunk job sends its queued messages through one connection, recording
each as sent while its server still waits for the end of the data (`rapport.mail.transport`),
so a crash, a retry or a second worker never sends a message twice nor skips one.

    draft -> scheduled -> sending -> sent
    scheduled, sending, paused -> cancelled;  sending <-> paused;  sending -> failed
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapport.campaigns import tallies
from rapport.campaigns.repository import (
    CampaignRepository,
    InteractionRepository,
    MessageRepository,
)
from rapport.campaigns.schemas import (
    Audience,
    BounceCounts,
    BucketStats,
    CampaignCounts,
    CampaignCreate,
    CampaignOut,
    CampaignStats,
    CampaignUpdate,
    FeedbackIn,
    FeedbackKind,
    FeedbackOut,
    Interval,
    LinkStats,
    Rates,
    SendRequest,
)
from rapport.campaigns.tracking import tracked
from rapport.companies.schemas import CompanyOut
from rapport.companies.service import CompanyService, MembershipService
from rapport.config import Settings
from rapport.consent.links import EmailLinks
from rapport.consent.service import ConsentService
from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder
from rapport.kit.context import Context
from rapport.kit.cql.query import compiled_for, parse_query, where_renamed
from rapport.kit.cql.tree import Condition, Group, Logic, Node, Not, Op
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict, InvalidQuery, NotFound, field_error
from rapport.kit.ids import new_id
from rapport.kit.pagination import PageRequest
from rapport.lists.service import ListService
from rapport.mail.compose import ascii_address, header_address
from rapport.mail.service import ConnectionService
from rapport.models.campaigns import (
    BounceType,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    InteractionKind,
    MessageStatus,
)
from rapport.models.consent import ConsentStatus
from rapport.models.suppressions import SuppressionReason
from rapport.suppressions.service import SuppressionService
from rapport.templates.render import CompiledContent, Parts, Rendered, merge_variables
from rapport.templates.schemas import TestSendOut, TestSendRequest
from rapport.templates.service import TemplateService, TestSender, sample_variables
from rapport.worker.queue import enqueue, enqueue_many

START_TASK = "campaigns.start"
SEND_TASK = "campaigns.send"
CHUNK_SIZE = 500
SOFT_BOUNCES_TO_HARD = 3
LINKS_SHOWN = 100
AUDIENCE_FILTER = "audience.filter"
CANCELLED = "The campaign was cancelled before this message was sent"

_EDITABLE = (
    "name",
    "subject",
    "preheader",
    "html_body",
    "text_body",
    "connection_id",
    "from_address",
    "from_name",
    "reply_to",
    "track_opens",
    "track_clicks",
)
_NEXT: dict[str, set[CampaignStatus]] = {
    "send": {CampaignStatus.DRAFT},
    "pause": {CampaignStatus.SENDING, CampaignStatus.SCHEDULED},
    "resume": {CampaignStatus.PAUSED},
    "cancel": {CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED},
    "delete": {
        CampaignStatus.DRAFT,
        CampaignStatus.SENT,
        CampaignStatus.CANCELLED,
        CampaignStatus.FAILED,
    },
    "edit": {CampaignStatus.DRAFT},
}


def invalid_state(campaign: Campaign, action: str) -> Conflict:
    allowed = ", ".join(sorted(status.value for status in _NEXT[action]))
    return Conflict(
        f"Cannot {action} a campaign that is {campaign.status.value} (only when {allowed})",
        code="INVALID_STATE",
    )


def content_of(campaign: Campaign) -> Parts:
    return Parts(
        subject=campaign.subject,
        preheader=campaign.preheader,
        html=campaign.html_body,
        text=campaign.text_body,
    )


def campaign_out(campaign: Campaign, counts: dict[str, int]) -> CampaignOut:
    queued, sent, failed, skipped = (
        counts.get(status.value, 0)
        for status in (
            MessageStatus.QUEUED,
            MessageStatus.SENT,
            MessageStatus.FAILED,
            MessageStatus.SKIPPED,
        )
    )
    return CampaignOut.model_validate(
        {
            **{
                field: getattr(campaign, field)
                for field in CampaignOut.model_fields
                if hasattr(campaign, field)
            },
            "counts": CampaignCounts(
                recipients=queued + sent + failed + skipped,
                queued=queued,
                sent=sent,
                failed=failed,
                skipped=skipped,
            ),
        }
    )


class MessagesToContacts:
    """The campaign messages written to contacts, as a person's data."""

    NOT_SENT = "Not sent: its recipient was erased"

    def __init__(self, context: Context) -> None:
        self.repo = MessageRepository(context.session)

    async def of_contacts(self, contact_ids: list[uuid.UUID]) -> list[CampaignMessage]:
        return await self.repo.of_contacts(contact_ids)

    async def redact(self, contact_ids: list[uuid.UUID]) -> int:
        """An erasure: the messages stay counted, anonymous (one still queued is skipped:
        its job finds nothing to send); how many."""
        await self.repo.skip_queued_to(contact_ids, self.NOT_SENT)
        return await self.repo.redact_of_contacts(contact_ids)


@dataclass(frozen=True)
class Sending:
    """What a chunk job needs of its campaign, read once."""

    campaign: Campaign
    content: CompiledContent


class CampaignService:
    def __init__(self, context: Context, settings: Settings) -> None:
        self.context = context
        self.settings = settings
        self.repo = CampaignRepository(context.session)
        self.messages = MessageRepository(context.session)
        self.events = EventRecorder(context)

    # --- reading -----------------------------------------------------------------------------

    async def get(self, campaign_id: uuid.UUID) -> Campaign:
        campaign = await self.repo.get(campaign_id)
        if campaign is None:
            raise NotFound("Campaign not found")
        return campaign

    async def page(
        self, page: PageRequest, status: CampaignStatus | None
    ) -> tuple[list[CampaignOut], PageMeta]:
        campaigns, meta = await self.repo.page(page, status)
        counts = await self.messages.counts([c.id for c in campaigns])
        return [campaign_out(c, counts.get(c.id, {})) for c in campaigns], meta

    async def out(self, campaign: Campaign) -> CampaignOut:
        counts = await self.messages.counts([campaign.id])
        return campaign_out(campaign, counts.get(campaign.id, {}))

    async def recipients(
        self, campaign_id: uuid.UUID, page: PageRequest, status: MessageStatus | None
    ) -> tuple[list[CampaignMessage], PageMeta]:
        await self.get(campaign_id)
        return await self.messages.page(campaign_id, page, status)

    # --- writing -----------------------------------------------------------------------------

    async def create(self, data: CampaignCreate) -> Campaign:
        """A draft, checked whole (content, sender, connection, audience) before it is kept."""
        values = {field: getattr(data, field) for field in _EDITABLE}
        if data.template_id is not None:
            template = await TemplateService(self.context).get(data.template_id)
            for field in ("subject", "preheader", "html_body", "text_body"):
                if field not in data.model_fields_set or values[field] is None:
                    values[field] = getattr(template, field)
        if values["html_body"] is None:
            raise field_error("htmlBody", "Send htmlBody or templateId")
        campaign = Campaign(
            id=new_id(),
            template_id=data.template_id,
            audience=self._audience_doc(data.audience),
            status=CampaignStatus.DRAFT,
            **values,
        )
        await self._check(campaign)
        self.repo.add(campaign)
        await self.repo.flush()
        await self._emit("campaign.created", campaign)
        return campaign

    async def update(self, campaign_id: uuid.UUID, patch: CampaignUpdate) -> Campaign:
        campaign = await self.get(campaign_id)
        if campaign.status not in _NEXT["edit"]:
            raise invalid_state(campaign, "edit")
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        required = {"name", "subject", "html_body", "from_address", "audience"}
        for field in sent & (required | {"track_opens", "track_clicks"}):
            if getattr(patch, field) is None:
                raise field_error(_camel(field), "Cannot be null")
        for field in sent & set(_EDITABLE):
            setattr(campaign, field, getattr(patch, field))
        if patch.audience is not None:
            campaign.audience = self._audience_doc(patch.audience)
        await self._check(campaign)
        await self.repo.flush()
        await self._emit("campaign.updated", campaign)
        return campaign

    async def delete(self, campaign_id: uuid.UUID) -> None:
        campaign = await self.get(campaign_id)
        if campaign.status not in _NEXT["delete"]:
            raise invalid_state(campaign, "delete")
        counts = await self.messages.counts([campaign.id])
        if counts.get(campaign.id, {}).get(MessageStatus.SENT.value):
            raise Conflict(
                "A campaign that sent messages is kept: the unsubscribe links its recipients "
                "hold, and its figures, depend on it",
                code="INVALID_STATE",
            )
        record = await self._record(campaign)
        await self.context.session.delete(campaign)
        await self.repo.flush()
        self.events.record("campaign.deleted", "campaign", campaign_id, {"record": record})

    async def duplicate(self, campaign_id: uuid.UUID) -> Campaign:
        """A new draft with the same content, sender and audience."""
        source = await self.get(campaign_id)
        copy = Campaign(
            id=new_id(),
            template_id=source.template_id,
            audience=dict(source.audience),
            status=CampaignStatus.DRAFT,
            **{field: getattr(source, field) for field in _EDITABLE},
        )
        copy.name = f"{source.name} (copy)"[:200]
        self.repo.add(copy)
        await self.repo.flush()
        await self._emit("campaign.created", copy)
        return copy

    async def send(self, campaign_id: uuid.UUID, data: SendRequest) -> Campaign:
        """Checked again as a whole, then scheduled: its start job runs at `scheduledAt`, or
        now."""
        campaign = await self._locked(campaign_id, "send")
        await self._check(campaign)
        now = self.context.clock()
        start = data.scheduled_at if data.scheduled_at and data.scheduled_at > now else now
        campaign.status = CampaignStatus.SCHEDULED
        campaign.scheduled_at = start
        campaign.status_reason = None
        await self.repo.flush()
        await enqueue(
            self.context.session,
            START_TASK,
            {"campaignId": str(campaign.id)},
            tenant_id=self.context.workspace_id,
            run_at=start,
            unique_key=f"campaign-start:{campaign.id}",
        )
        await self._emit("campaign.scheduled", campaign)
        return campaign

    async def test_send(self, campaign_id: uuid.UUID, data: TestSendRequest) -> TestSendOut:
        """The campaign as the contact (or the sample contact) would get it, subject marked
        [Test], sent now to the addresses given (no consent asked, no recipient recorded);
        its links are placeholders."""
        campaign = await self.get(campaign_id)
        sender = TestSender(self.context, self.settings)
        connection = None
        if campaign.connection_id is not None:
            connection = await sender.connections.pick(campaign.connection_id)
        return await sender.send(
            CompiledContent.compile(content_of(campaign)),
            data,
            connection,
            from_address=campaign.from_address,
            from_name=campaign.from_name,
            reply_to=campaign.reply_to,
        )

    async def pause(self, campaign_id: uuid.UUID) -> Campaign:
        """Chunk jobs stop before their next message; a scheduled one waits until resumed."""
        campaign = await self._locked(campaign_id, "pause")
        return await self._pause(campaign, None)

    async def resume(self, campaign_id: uuid.UUID) -> Campaign:
        """Sending goes on with the messages still queued (a campaign paused before it
        started starts now)."""
        campaign = await self._locked(campaign_id, "resume")
        campaign.status_reason = None
        if campaign.started_at is None:
            campaign.status = CampaignStatus.SCHEDULED
            await self.repo.flush()
            await enqueue(
                self.context.session,
                START_TASK,
                {"campaignId": str(campaign.id)},
                tenant_id=self.context.workspace_id,
            )
        else:
            campaign.status = CampaignStatus.SENDING
            await self.repo.flush()
            await self._queue_chunks(campaign, await self.messages.queued_chunks(campaign.id))
        await self._emit("campaign.resumed", campaign)
        return campaign

    async def cancel(self, campaign_id: uuid.UUID) -> Campaign:
        """No more messages go out; those still queued are skipped."""
        campaign = await self._locked(campaign_id, "cancel")
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = self.context.clock()
        await self.messages.skip_queued(campaign.id, CANCELLED)
        await self.repo.flush()
        await self._emit("campaign.cancelled", campaign)
        return campaign

    # --- what the jobs do --------------------------------------------------------------------

    async def start(self, campaign_id: uuid.UUID) -> None:
        """Freeze the audience into message rows and queue a job per chunk, in one
        transaction (a second run finds the campaign started and does nothing)."""
        campaign = await self.repo.locked(campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
            return
        try:
            await self._check(campaign)
            audience = await self._audience(campaign.audience)
        except AppError as exc:  # a list deleted, a connection gone since it was scheduled
            await self.fail(campaign, f"The campaign could not start: {exc.message}")
            return
        contacts = ContactService(self.context)
        consent = ConsentService(self.context, self.settings)
        ids = await contacts.ids_matching(audience)
        chunks: set[int] = set()
        queued = 0
        for start in range(0, len(ids), 1000):
            batch = await contacts.by_ids(ids[start : start + 1000])
            standings = await consent.standings([(c.id, c.email) for c in batch.values()])
            rows = []
            for contact in batch.values():
                reason = standings[contact.id].reason
                chunk = -1 if reason else queued // CHUNK_SIZE
                queued += reason is None
                if reason is None:
                    chunks.add(chunk)
                rows.append(
                    {
                        "id": new_id(),
                        "tenant_id": self.context.workspace_id,
                        "campaign_id": campaign.id,
                        "contact_id": contact.id,
                        "email": contact.email or "",
                        "status": MessageStatus.SKIPPED if reason else MessageStatus.QUEUED,
                        "reason": reason,
                        "chunk": chunk,
                    }
                )
            await self.messages.add_all(rows)
        campaign.status = CampaignStatus.SENDING
        campaign.started_at = self.context.clock()
        await self.repo.flush()
        await self._emit("campaign.started", campaign)
        if not chunks:
            await self.finish(campaign)
            return
        await self._queue_chunks(campaign, sorted(chunks))

    async def still_eligible(self, messages: list[CampaignMessage]) -> list[CampaignMessage]:
        """The queued messages that may still go out. A recipient deleted or merged since
        the audience was frozen, or who unsubscribed, bounced, complained or was suppressed
        meanwhile (a paused campaign resumed days later), is skipped with the reason."""
        contacts = await ContactService(self.context).by_ids(
            [m.contact_id for m in messages if m.contact_id is not None]
        )
        standings = await ConsentService(self.context, self.settings).standings(
            [(m.contact_id, m.email) for m in messages if m.contact_id in contacts]
        )
        eligible = []
        for message in messages:
            contact = contacts.get(message.contact_id) if message.contact_id else None
            if contact is None or contact.status == "DELETED":
                reason: str | None = "The contact was deleted before the message went out"
            elif contact.merged_into_id is not None:
                reason = "The contact was merged into another before the message went out"
            else:
                reason = standings[contact.id].reason
            if reason is None:
                eligible.append(message)
            else:
                await self.messages.settle(message.id, MessageStatus.SKIPPED, reason)
        return eligible

    async def sending(self, campaign_id: uuid.UUID) -> Sending | None:
        """The campaign, if it is sending, with its content compiled."""
        campaign = await self.repo.get(campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return None
        return Sending(campaign, CompiledContent.compile(content_of(campaign)))

    async def message(self, message_id: uuid.UUID) -> CampaignMessage | None:
        return await self.messages.get(message_id)

    async def view(self, message: CampaignMessage) -> str | None:
        """The HTML the recipient was sent, rendered again (None: the contact is gone)."""
        campaign = await self.get(message.campaign_id)
        variables = await recipient_variables(self.context, [message])
        if message.contact_id not in variables:
            return None
        content = CompiledContent.compile(content_of(campaign))
        rendered = render_for(
            None, content, EmailLinks.of(self.settings), message, variables[message.contact_id]
        )
        return rendered.html

    async def unsubscribe(self, message: CampaignMessage) -> None:
        """The recipient followed the unsubscribe link (or their mail client posted it):
        unsubscribed, once (again: nothing changes)."""
        if message.contact_id is None:
            return
        consent = ConsentService(self.context, self.settings)
        contact = await consent.live(message.contact_id)
        if contact is None:
            return
        standing = await consent.standings([(contact.id, None)])
        current = standing[contact.id].consent
        if current is not None and current.status == ConsentStatus.UNSUBSCRIBED:
            return
        await self.messages.mark_first(
            message.id, CampaignMessage.unsubscribed_at, self.context.clock()
        )
        await consent.change(
            contact.id,
            ConsentStatus.UNSUBSCRIBED,
            f"unsubscribe link of campaign {message.campaign_id}",
        )
        self._engaged("email.unsubscribed", message)

    # --- what recipients and their mail servers tell ----------------------------------------

    async def opened(self, message: CampaignMessage) -> None:
        """The message's open pixel was loaded (every load counts in the total; the first
        is its unique open)."""
        now = self.context.clock()
        await InteractionRepository(self.context.session).record(
            message, InteractionKind.OPENED, now, None, self.messages.tally()
        )
        first = await self.messages.mark_first(message.id, CampaignMessage.opened_at, now)
        self._engaged("email.opened", message, first=first)

    async def clicked(self, message: CampaignMessage, url: str) -> None:
        """A link of the message was followed (which also means it was opened)."""
        now = self.context.clock()
        await InteractionRepository(self.context.session).record(
            message, InteractionKind.CLICKED, now, url, self.messages.tally()
        )
        await self.messages.mark_first(message.id, CampaignMessage.opened_at, now)
        first = await self.messages.mark_first(message.id, CampaignMessage.clicked_at, now)
        self._engaged("email.clicked", message, first=first, url=url)

    async def feedback(self, data: FeedbackIn) -> FeedbackOut:
        """A bounce or a complaint about a message (named by its Message-ID) or an address:
        recorded on the message; a hard bounce (or the third soft one) and a complaint set the
        email status of the contacts with that address and put it on the suppression list."""
        message = await self._message_named(data.message_id)
        email = message.email if message is not None and message.email else data.email
        if not email:
            raise field_error("email", "Name the message (messageId) or the address (email)")
        email = email.strip().lower()
        if message is None:
            message = await self.messages.latest_to(email)
        now = self.context.clock()
        bounce = (data.bounce_type or BounceType.HARD) if data.type == FeedbackKind.BOUNCE else None
        if message is not None:
            await self._mark_feedback(message, bounce, now, data.reason)
        final = bounce == BounceType.HARD or data.type == FeedbackKind.COMPLAINT
        if bounce == BounceType.SOFT:
            final = await self.messages.soft_bounces_to(email) >= SOFT_BOUNCES_TO_HARD
        changed: list[uuid.UUID] = []
        if final:
            status, reason = (
                (ConsentStatus.BOUNCED, SuppressionReason.BOUNCED)
                if bounce
                else (ConsentStatus.COMPLAINED, SuppressionReason.COMPLAINED)
            )
            source = f"{data.type.value} reported" + (f": {data.reason}" if data.reason else "")
            consent = ConsentService(self.context, self.settings)
            for contact_id in await ContactService(self.context).ids_with_email(email):
                await consent.change(contact_id, status, source[:200])
                changed.append(contact_id)
            await SuppressionService(self.context).suppress(email, reason, source[:200])
        return FeedbackOut(
            type=data.type,
            bounce_type=bounce,
            email=email,
            message_id=message.id if message else None,
            campaign_id=message.campaign_id if message else None,
            contact_ids=changed,
            suppressed=final,
        )

    async def _message_named(self, message_id: str | None) -> CampaignMessage | None:
        """The message a Message-ID header (`<id@domain>`) or a recipient id names."""
        if not message_id:
            return None
        local = message_id.strip().strip("<>").split("@", 1)[0]
        try:
            return await self.messages.get(uuid.UUID(local))
        except ValueError:
            return None

    async def _mark_feedback(
        self, message: CampaignMessage, bounce: BounceType | None, now: datetime, reason: str | None
    ) -> None:
        if bounce is None:
            await self.messages.mark_first(message.id, CampaignMessage.complained_at, now)
            self._engaged("email.complained", message, first=True, reason=reason)
            return
        await self.messages.bounced(message, bounce, now)
        self._engaged("email.bounced", message, first=True, bounceType=bounce.value, reason=reason)

    def _engaged(self, event_type: str, message: CampaignMessage, **data: Any) -> None:
        record_message_event(self.events, event_type, message, **data)

    async def stats(self, campaign_id: uuid.UUID, interval: Interval) -> CampaignStats:
        """Exact figures, read from the campaign's tallies (`rapport.campaigns.tallies`)."""
        await self.get(campaign_id)
        tallied = await self.messages.tallied(campaign_id)

        def count(key: str) -> int:
            return tallied.get(key, (0, None))[0]

        by_status = {s: count(tallies.status(s)) for s in MessageStatus}
        hard, soft = count(tallies.bounce(BounceType.HARD)), count(tallies.bounce(BounceType.SOFT))
        sent = by_status[MessageStatus.SENT]
        delivered = max(sent - hard - soft, 0)
        opened, clicked = count(tallies.first("opened")), count(tallies.first("clicked"))
        unsubscribed, complained = (
            count(tallies.first("unsubscribed")),
            count(tallies.first("complained")),
        )
        timeline: dict[datetime, dict[str, int]] = {}
        for key, (amount, _) in tallied.items():
            if key.startswith("hour:") and amount:
                start = tallies.hour_start(key)
                if interval == "day":
                    start = start.replace(hour=0)
                bucket = timeline.setdefault(start, {"sent": 0, "opened": 0, "clicked": 0})
                bucket[key.split(":")[1]] += amount
        links = sorted(
            (
                (amount, label or "", count("link1:" + key.removeprefix("link:")))
                for key, (amount, label) in tallied.items()
                if key.startswith("link:") and amount
            ),
            key=lambda link: (-link[0], link[1]),
        )[:LINKS_SHOWN]
        return CampaignStats(
            recipients=sum(by_status.values()),
            queued=by_status[MessageStatus.QUEUED],
            sent=sent,
            failed=by_status[MessageStatus.FAILED],
            skipped=by_status[MessageStatus.SKIPPED],
            delivered=delivered,
            bounced=BounceCounts(total=hard + soft, hard=hard, soft=soft),
            opened_unique=opened,
            opened_total=count(tallies.total(InteractionKind.OPENED)),
            clicked_unique=clicked,
            clicked_total=count(tallies.total(InteractionKind.CLICKED)),
            unsubscribed=unsubscribed,
            complained=complained,
            rates=Rates(
                delivery=_rate(delivered, sent),
                bounce=_rate(hard + soft, sent),
                open=_rate(opened, delivered),
                click=_rate(clicked, delivered),
                click_to_open=_rate(clicked, opened),
                unsubscribe=_rate(unsubscribed, delivered),
                complaint=_rate(complained, delivered),
            ),
            links=[
                LinkStats(url=url, clicked_unique=unique, clicked_total=total)
                for total, url, unique in links
            ],
            interval=interval,
            timeline=[BucketStats(start=start, **timeline[start]) for start in sorted(timeline)],
        )

    async def finish_if_done(self, campaign_id: uuid.UUID) -> None:
        """A chunk ended: when nothing is queued any more the campaign is sent (its row
        locked, so that two chunks ending at once finish it once)."""
        campaign = await self.repo.locked(campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return
        if not await self.messages.any_queued(campaign_id):
            await self.finish(campaign)

    async def finish(self, campaign: Campaign) -> None:
        campaign.status = CampaignStatus.SENT
        campaign.finished_at = self.context.clock()
        await self.repo.flush()
        await self._emit("campaign.sent", campaign)

    async def fail(self, campaign: Campaign, reason: str) -> None:
        campaign.status = CampaignStatus.FAILED
        campaign.status_reason = reason
        campaign.finished_at = self.context.clock()
        await self.messages.skip_queued(campaign.id, reason)
        await self.repo.flush()
        await self._emit("campaign.failed", campaign)

    async def halt(self, campaign_id: uuid.UUID, reason: str) -> None:
        """Sending cannot go on (the connection refuses, its retries ran out): paused, with
        the reason on the campaign; resume once it is fixed."""
        campaign = await self.repo.locked(campaign_id)
        if campaign is not None and campaign.status == CampaignStatus.SENDING:
            await self._pause(campaign, reason)

    # --- helpers -----------------------------------------------------------------------------

    async def _pause(self, campaign: Campaign, reason: str | None) -> Campaign:
        campaign.status = CampaignStatus.PAUSED
        campaign.status_reason = reason
        await self.repo.flush()
        await self._emit("campaign.paused", campaign)
        return campaign

    async def send_later(self, campaign_id: uuid.UUID, chunk: int, at: datetime) -> None:
        """The chunk's job stopped at its connection's pace: another goes on at `at` (while
        the campaign is sending; a resume queues its own)."""
        campaign = await self.repo.get(campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return
        await enqueue(
            self.context.session,
            SEND_TASK,
            {"campaignId": str(campaign_id), "chunk": chunk},
            tenant_id=self.context.workspace_id,
            run_at=at,
        )

    async def _queue_chunks(self, campaign: Campaign, chunks: Iterable[int]) -> None:
        payload = str(campaign.id)
        await enqueue_many(
            self.context.session,
            SEND_TASK,
            [
                (self.context.workspace_id, {"campaignId": payload, "chunk": chunk})
                for chunk in chunks
            ],
        )

    async def _locked(self, campaign_id: uuid.UUID, action: str) -> Campaign:
        campaign = await self.repo.locked(campaign_id)
        if campaign is None:
            raise NotFound("Campaign not found")
        if campaign.status not in _NEXT[action]:
            raise invalid_state(campaign, action)
        return campaign

    async def _check(self, campaign: Campaign) -> None:
        """422 naming the field for content that does not compile, an address that cannot be
        sent from, or an audience that does not; 422 for a connection not in the workspace."""
        # A trial render for the sample contact: content that compiles but cannot render
        # (`{{ 1/0 }}`, a loop over the limits) is refused now, not found by the sending job.
        CompiledContent.compile(content_of(campaign)).render(sample_variables())
        for field, value in (
            ("fromAddress", campaign.from_address),
            ("replyTo", campaign.reply_to),
        ):
            if value is None:
                continue
            try:
                header_address(ascii_address(value))
            except ValueError as exc:
                raise field_error(field, str(exc)) from exc
        try:
            header_address(campaign.from_address, campaign.from_name)
        except ValueError as exc:
            raise field_error("fromName", str(exc)) from exc
        if campaign.connection_id is not None:
            connections = ConnectionService(
                self.context,
                allow_private=self.settings.allow_private_smtp,
                secret_key=self.settings.resolved_secret_key(),
            )
            await connections.pick(campaign.connection_id)
        await self._audience(campaign.audience)

    def _audience_doc(self, audience: Audience) -> dict[str, Any]:
        return audience.model_dump(mode="json", by_alias=True)

    async def _audience(self, doc: dict[str, Any]) -> Any:
        """The audience's condition on contacts: in an included list, in no excluded one,
        matching the filter; 422 naming the list or filter at fault."""
        include = [uuid.UUID(str(i)) for i in doc.get("includeLists") or []]
        exclude = [uuid.UUID(str(i)) for i in doc.get("excludeLists") or []]
        raw = doc.get("filter")
        if not include and raw is None:
            raise field_error("audience", "Name includeLists, a filter, or both")
        lists = ListService(self.context)
        for member, ids in (("audience.includeLists", include), ("audience.excludeLists", exclude)):
            for list_id in ids:
                await lists.check_contacts(list_id, member)
        parts: list[Node] = []
        if raw is not None:
            where, json_filter = (raw, None) if isinstance(raw, str) else (None, raw)
            parts.append(
                parse_query(
                    where, json_filter, filter_name=AUDIENCE_FILTER, where_name=AUDIENCE_FILTER
                )
            )
        if include:
            parts.append(Condition("list", Op.IN, tuple(str(i) for i in include)))
        if exclude:
            parts.append(Not(Condition("list", Op.IN, tuple(str(i) for i in exclude))))
        node = parts[0] if len(parts) == 1 else Group(Logic.AND, tuple(parts))
        catalog = await ContactService(self.context).query_catalog()
        try:
            return compiled_for(self.context, catalog, node, AUDIENCE_FILTER).where
        except InvalidQuery as exc:
            raise where_renamed(exc, AUDIENCE_FILTER) from None

    async def _record(self, campaign: Campaign) -> dict[str, Any]:
        return (await self.out(campaign)).model_dump(
            mode="json", exclude={"html_body", "text_body"}
        )

    async def _emit(self, event_type: str, campaign: Campaign) -> None:
        self.events.record(
            event_type, "campaign", campaign.id, {"record": await self._record(campaign)}
        )


def record_message_event(
    events: EventRecorder, event_type: str, message: CampaignMessage, **data: Any
) -> None:
    """An event of a campaign message, about its contact (on the contact's timeline, followed
    by dynamic lists, redacted with the person), or about the message once the contact is
    gone."""
    resource = (
        ("contact", message.contact_id) if message.contact_id else ("campaign_message", message.id)
    )
    events.record(
        event_type,
        resource[0],
        resource[1],
        {
            "campaignId": str(message.campaign_id),
            "messageId": str(message.id),
            "contactId": str(message.contact_id) if message.contact_id else None,
            **data,
        },
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


async def recipient_variables(
    context: Context, messages: list[CampaignMessage]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each recipient's contact and primary company as the API shows them."""
    ids = [m.contact_id for m in messages if m.contact_id is not None]
    contacts = await ContactService(context).by_ids(ids)
    memberships = await MembershipService(context).of_contacts(ids)
    primary = {m.contact_id: m.company_id for m in memberships if m.is_primary}
    company_records = await CompanyService(context).by_ids(set(primary.values()))
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for contact_id, contact in contacts.items():
        company = company_records.get(primary.get(contact_id))  # type: ignore[arg-type]
        found[contact_id] = {
            "contact": ContactOut.model_validate(contact).model_dump(mode="json", by_alias=True),
            "company": CompanyOut.model_validate(company).model_dump(mode="json", by_alias=True)
            if company is not None
            else None,
        }
    return found


def render_for(
    campaign: Campaign | None,
    content: CompiledContent,
    links: EmailLinks,
    message: CampaignMessage,
    variables: dict[str, Any],
) -> Rendered:
    """The campaign's content as this recipient gets it, their own links included, and
    tracked as the `campaign` asks (None: not tracked, as the browser view)."""
    rendered = content.render(
        merge_variables(
            variables.get("contact", {}),
            variables.get("company"),
            unsubscribe_url=links.unsubscribe(message.tenant_id, message.id),
            view_url=links.view(message.tenant_id, message.id),
        )
    )
    if campaign is None or not (campaign.track_opens or campaign.track_clicks):
        return rendered
    html = tracked(
        rendered.html,
        links,
        message.tenant_id,
        message.id,
        opens=campaign.track_opens,
        clicks=campaign.track_clicks,
    )
    return dataclasses.replace(rendered, html=html)
