"""HTTP routes of campaigns."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response

from rapport.campaigns.deps import Campaigns, CampaignSending
from rapport.campaigns.reports import feedback_of
from rapport.campaigns.repository import CampaignRepository, MessageRepository
from rapport.campaigns.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignStats,
    CampaignUpdate,
    FeedbackIn,
    FeedbackOut,
    Interval,
    RecipientOut,
    SendRequest,
)
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.models.campaigns import CampaignStatus, MessageStatus
from rapport.templates.schemas import TestSendOut, TestSendRequest

router = api_router(tags=["Campaigns"])

CampaignId = Annotated[uuid.UUID, Path(description="The campaign's id")]
Page = Annotated[PageRequest, Depends(Pagination(CampaignRepository.sort_columns))]
RecipientPage = Annotated[
    PageRequest,
    Depends(Pagination(MessageRepository.sort_columns, default_sort="email", default_order="asc")),
]
_NOT_FOUND = {404: "No such campaign in this workspace"}
_INVALID = {
    422: "A field is invalid: content that does not compile (with its line), an address, a "
    "connection or list not in the workspace, an audience that does not compile"
}
_STATE = {409: "`INVALID_STATE`: not allowed in the campaign's current status (named)"}


def _transition(summary: str, description: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": description,
        "responses": documented_errors({**_NOT_FOUND, **_STATE}),
    }


@router.get("/campaigns", summary="List campaigns")
async def list_campaigns(
    campaigns: Campaigns,
    page: Page,
    status: Annotated[
        CampaignStatus | None, Query(description="Only campaigns in this status")
    ] = None,
) -> ListEnvelope[CampaignOut]:
    """Newest first by default, each with its counts (recipients, queued, sent, failed,
    skipped). Needs crm:campaigns."""
    rows, meta = await campaigns.page(page, status)
    return ListEnvelope(data=rows, meta=meta)


@router.post(
    "/campaigns",
    status_code=201,
    summary="Create a draft campaign",
    responses=documented_errors({404: "No such template (`templateId`)", **_INVALID}),
)
async def create_campaign(body: CampaignCreate, campaigns: Campaigns) -> Envelope[CampaignOut]:
    """A draft: content (or a template's, copied in), sender, connection (none: the local
    maildir under the data directory) and audience, each checked now. Nothing is sent until
    `POST /campaigns/{id}/send`."""
    campaign = await campaigns.create(body)
    return Envelope(data=await campaigns.out(campaign))


@router.get(
    "/campaigns/{campaign_id}",
    summary="One campaign, its status and counts",
    responses=documented_errors(_NOT_FOUND),
)
async def get_campaign(campaign_id: CampaignId, campaigns: Campaigns) -> Envelope[CampaignOut]:
    """With `statusReason` saying why it paused or failed."""
    return Envelope(data=await campaigns.out(await campaigns.get(campaign_id)))


@router.patch(
    "/campaigns/{campaign_id}",
    summary="Change a draft campaign",
    responses=documented_errors({**_NOT_FOUND, **_STATE, **_INVALID}),
)
async def update_campaign(
    campaign_id: CampaignId, body: CampaignUpdate, campaigns: Campaigns
) -> Envelope[CampaignOut]:
    """Only a draft changes; the whole campaign is checked again."""
    campaign = await campaigns.update(campaign_id, body)
    return Envelope(data=await campaigns.out(campaign))


@router.delete(
    "/campaigns/{campaign_id}",
    status_code=204,
    summary="Delete a campaign and its recipients",
    responses=documented_errors({**_NOT_FOUND, **_STATE}),
)
async def delete_campaign(campaign_id: CampaignId, campaigns: Campaigns) -> Response:
    """A draft, or a campaign that ended (sent, cancelled, failed); one scheduled or
    sending is cancelled first."""
    await campaigns.delete(campaign_id)
    return Response(status_code=204)


@router.post(
    "/campaigns/{campaign_id}/send",
    **_transition(
        "Send a campaign now or at a time",
        "Schedules the campaign (`scheduled`); at `scheduledAt` (or now) its audience is "
        "evaluated and frozen, one recipient row each, and sending begins (`sending`), then "
        "`sent`. Contacts whose consent does not allow marketing email, or whose address is "
        "suppressed, are listed as skipped with the reason. Counts against the `campaigns` "
        "rate limit.",
    ),
)
async def send_campaign(
    campaign_id: CampaignId, body: SendRequest, campaigns: CampaignSending
) -> Envelope[CampaignOut]:
    campaign = await campaigns.send(campaign_id, body)
    return Envelope(data=await campaigns.out(campaign))


@router.post(
    "/campaigns/{campaign_id}/pause",
    **_transition(
        "Pause a scheduled or sending campaign",
        "Sending stops before the next messages; queued ones wait for resume.",
    ),
)
async def pause_campaign(
    campaign_id: CampaignId, campaigns: CampaignSending
) -> Envelope[CampaignOut]:
    return Envelope(data=await campaigns.out(await campaigns.pause(campaign_id)))


@router.post(
    "/campaigns/{campaign_id}/resume",
    **_transition(
        "Resume a paused campaign",
        "Sends the messages still queued (a campaign paused before it started starts now).",
    ),
)
async def resume_campaign(
    campaign_id: CampaignId, campaigns: CampaignSending
) -> Envelope[CampaignOut]:
    return Envelope(data=await campaigns.out(await campaigns.resume(campaign_id)))


@router.post(
    "/campaigns/{campaign_id}/cancel",
    **_transition(
        "Cancel a campaign",
        "No more messages go out; those still queued are listed as skipped.",
    ),
)
async def cancel_campaign(
    campaign_id: CampaignId, campaigns: CampaignSending
) -> Envelope[CampaignOut]:
    return Envelope(data=await campaigns.out(await campaigns.cancel(campaign_id)))


@router.post(
    "/campaigns/{campaign_id}/test-send",
    summary="Send a test of the campaign to a few addresses now",
    responses=documented_errors(
        {
            **_NOT_FOUND,
            422: "An address is not valid (`emails[i]`), or the content does not render",
            502: "`EMAIL_NOT_SENT`: the mail server did not take it (its reply is in the message)",
        }
    ),
)
async def test_send_campaign(
    campaign_id: CampaignId, body: TestSendRequest, campaigns: CampaignSending
) -> Envelope[TestSendOut]:
    """Renders the campaign for `contactId` (or a sample contact), marks its subject
    `[Test]` and sends it at once to each address (up to 10) through the campaign's
    connection, or into the local maildir without one. In any status; nothing is recorded
    on the campaign. Counts against the `campaigns` rate limit."""
    return Envelope(data=await campaigns.test_send(campaign_id, body))


@router.post(
    "/campaigns/{campaign_id}/duplicate",
    status_code=201,
    summary="Copy a campaign into a new draft",
    responses=documented_errors(_NOT_FOUND),
)
async def duplicate_campaign(
    campaign_id: CampaignId, campaigns: Campaigns
) -> Envelope[CampaignOut]:
    """The same content, sender and audience, as a draft named "… (copy)"."""
    return Envelope(data=await campaigns.out(await campaigns.duplicate(campaign_id)))


@router.get(
    "/campaigns/{campaign_id}/recipients",
    summary="A campaign's recipients, each with its delivery state",
    responses=documented_errors(_NOT_FOUND),
)
async def list_campaign_recipients(
    campaign_id: CampaignId,
    campaigns: Campaigns,
    page: RecipientPage,
    status: Annotated[
        MessageStatus | None, Query(description="Only recipients in this state")
    ] = None,
) -> ListEnvelope[RecipientOut]:
    """Everyone in the frozen audience: queued, sent, failed (with the server's reply) or
    skipped (with the reason: no consent, unsubscribed, suppressed, cancelled)."""
    rows, meta = await campaigns.recipients(campaign_id, page, status)
    return ListEnvelope(data=[RecipientOut.model_validate(m) for m in rows], meta=meta)


@router.get(
    "/campaigns/{campaign_id}/stats",
    summary="A campaign's figures: sent, delivered, bounced, opens, clicks, unsubscribes",
    responses=documented_errors(_NOT_FOUND),
)
async def get_campaign_stats(
    campaign_id: CampaignId,
    campaigns: Campaigns,
    interval: Annotated[
        Interval, Query(description="The size of the timeline's buckets (UTC)")
    ] = "hour",
) -> Envelope[CampaignStats]:
    """Exact counts from the recipients and their opens and clicks: recipients, sent,
    failed, skipped, delivered (sent and not bounced), bounces (hard and soft), unique and
    total opens and clicks, unsubscribes, complaints, their rates, the clicks of each link,
    and the same over time (sent, opens, clicks per hour or day)."""
    return Envelope(data=await campaigns.stats(campaign_id, interval))


@router.post(
    "/email-feedback",
    summary="Report a bounce or a spam complaint about a campaign message",
    responses=documented_errors({422: "Neither messageId nor email names the message"}),
)
async def report_email_feedback(body: FeedbackIn, campaigns: Campaigns) -> Envelope[FeedbackOut]:
    """For a mail provider's webhook or a bounce processor: a hard bounce (or the third soft
    one to an address) sets the email status of the contacts with that address to `bounced`
    and puts it on the suppression list (reason `bounced`); a complaint does the same with
    `complained`. Recorded on the campaign message (`messageId`: its Message-ID header, or
    else the last message sent to `email`) and counted in its campaign's stats."""
    return Envelope(data=await campaigns.feedback(body))


@router.post(
    "/email-feedback/reports",
    summary="Report a bounce or complaint as the mail server's own report (DSN, ARF)",
    responses=documented_errors(
        {400: "`INVALID_REPORT`: the body is not a delivery-status or feedback report"}
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The report message as received, its MIME headers included (RFC "
            "3464 DSN or RFC 5965 ARF); sent with any content type (`message/rfc822` says "
            "what it is; generated clients send `application/octet-stream`)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def report_email_feedback_message(
    request: Request, campaigns: Campaigns
) -> Envelope[FeedbackOut]:
    """The bounce message a mail server sent back (`multipart/report;
    report-type=delivery-status`: `failed` with a 5.x.x status is a hard bounce, `delayed` or
    4.x.x a soft one) or a provider's abuse report (`report-type=feedback-report`: a
    complaint), sent as the body with its MIME headers; the returned message's Message-ID
    names the campaign message. The same effects as `POST /email-feedback`."""
    return Envelope(data=await campaigns.feedback(feedback_of(await request.body())))
