"""HTTP routes of webhooks and their delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Response

from rapport.auth.dependencies import AdminAccess
from rapport.events.catalog import EVENT_TYPES
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.models.webhooks import DeliveryStatus, Webhook
from rapport.webhooks.deps import Webhooks
from rapport.webhooks.repository import DeliveryFilters, DeliveryRepository, WebhookRepository
from rapport.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    EventTypeOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecret,
)

router = api_router(prefix="/webhooks", tags=["Webhooks"])

_NOT_FOUND = documented_errors({404: "No such webhook in this workspace"})

WebhookId = Annotated[uuid.UUID, Path(description="The webhook's id")]
DeliveryId = Annotated[uuid.UUID, Path(description="The id of a delivery of this webhook")]


def _with_secret(webhook: Webhook, secret: str) -> WebhookWithSecret:
    out = WebhookOut.model_validate(webhook)
    return WebhookWithSecret(**out.model_dump(), secret=secret)


@router.get("/event-types", summary="Every event type a webhook can subscribe to")
async def list_event_types(_context: AdminAccess) -> ListEnvelope[EventTypeOut]:
    """Every event type Rapport emits, with what it means, in one unpaginated list. A
    webhook's `eventTypes` may name these exactly, a family of them by its first segment
    (`contact.*`), or `*` for all; anything else is refused. Needs the crm:admin scope, like
    every webhook operation."""
    return ListEnvelope.whole([EventTypeOut(type=t, description=d) for t, d in EVENT_TYPES.items()])


@router.get("", summary="List webhooks")
async def list_webhooks(
    webhooks: Webhooks,
    page: Annotated[PageRequest, Depends(Pagination(WebhookRepository.sort_columns))],
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones")] = None,
) -> ListEnvelope[WebhookOut]:
    """The workspace's webhook subscriptions, newest first by default, without their secrets.
    `active=false` also lists the webhooks Rapport disabled after failed deliveries, with
    `disabledReason`. Needs the crm:admin scope."""
    rows, meta = await webhooks.page(active, page)
    return ListEnvelope(data=[WebhookOut.model_validate(w) for w in rows], meta=meta)


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to events; the signing secret is in this response only",
)
async def create_webhook(body: WebhookCreate, webhooks: Webhooks) -> Envelope[WebhookWithSecret]:
    """Subscribes a URL to the workspace's events: each later event whose type matches
    `eventTypes` is POSTed to it as JSON (the event as GET /events/{id} shows it, plus
    `workspaceId`), in event order for each record.

    The URL must be https and resolve only to public addresses, checked now and before every
    delivery; a server started with `RAPPORT_ALLOW_PRIVATE_WEBHOOKS=1` (development only) also
    accepts plain http and loopback, private and link-local addresses. The answer holds the
    `secret`, shown this once. Each delivery is signed with it in
    `Rapport-Signature: t=<unix seconds>,v1=<hex>`, the hex HMAC-SHA256 of `<t>.<raw body>`
    keyed with the whole secret, and carries the `Rapport-Timestamp`, `Rapport-Event-Id`,
    `Rapport-Event-Type`, `Rapport-Delivery-Id` and `Rapport-Attempt` headers. A 2xx answer
    within 10 seconds is a success (the delivery log describes retries). Needs the crm:admin
    scope; emits `webhook.created`.
    """
    webhook, secret = await webhooks.create(body)
    return Envelope(data=_with_secret(webhook, secret))


@router.get("/{webhook_id}", summary="One webhook (without its secret)", responses=_NOT_FOUND)
async def get_webhook(webhook_id: WebhookId, webhooks: Webhooks) -> Envelope[WebhookOut]:
    """One webhook subscription with its health (`consecutiveFailures`, `lastSuccessAt`,
    `disabledReason`), without its secret: rotating the secret shows a new one. Needs the
    crm:admin scope."""
    webhook = await webhooks.get(webhook_id)
    return Envelope(data=WebhookOut.model_validate(webhook))


@router.patch(
    "/{webhook_id}",
    summary="Change the URL, event types, description or active flag",
    responses=_NOT_FOUND,
)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, webhooks: Webhooks
) -> Envelope[WebhookOut]:
    """Changes the fields sent; `url`, `eventTypes` and `active` cannot be null.

    A new URL is checked as on creation (https on a public address, unless the server sets
    `RAPPORT_ALLOW_PRIVATE_WEBHOOKS=1`). `active: false` pauses the webhook: events that
    happen while it is inactive are never delivered to it, and queued deliveries fail.
    `active: true` resumes it and also re-enables a webhook Rapport disabled, clearing
    `disabledReason` and the failure count. Needs the crm:admin scope; emits `webhook.updated`
    when something changed.
    """
    webhook = await webhooks.update(webhook_id, body)
    return Envelope(data=WebhookOut.model_validate(webhook))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook and its delivery log",
    responses=_NOT_FOUND,
)
async def delete_webhook(webhook_id: WebhookId, webhooks: Webhooks) -> Response:
    """Deletes the subscription with its whole delivery log; deliveries not yet sent are
    dropped. Needs the crm:admin scope; emits `webhook.deleted`."""
    await webhooks.delete(webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Replace the signing secret; the new one is in this response only",
    responses=_NOT_FOUND,
)
async def rotate_webhook_secret(
    webhook_id: WebhookId, webhooks: Webhooks
) -> Envelope[WebhookWithSecret]:
    """Replaces the signing secret and returns the new one, shown this once. The old secret
    stops at once: every delivery from now on, retries of earlier ones included, is signed
    with the new one, so a receiver should accept both while it switches. Needs the crm:admin
    scope; emits `webhook.updated` with `secretRotated: true` (events never hold a secret)."""
    webhook, secret = await webhooks.rotate_secret(webhook_id)
    return Envelope(data=_with_secret(webhook, secret))


@router.get(
    "/{webhook_id}/deliveries",
    summary="The webhook's delivery log, newest first by default",
    responses=_NOT_FOUND,
)
async def list_deliveries(
    webhook_id: WebhookId,
    webhooks: Webhooks,
    page: Annotated[PageRequest, Depends(Pagination(DeliveryRepository.sort_columns))],
    status: Annotated[
        DeliveryStatus | None,
        Query(description="Only deliveries in this status (waiting, pending, succeeded, failed)"),
    ] = None,
    event_type: Annotated[
        str | None,
        Query(
            alias="eventType",
            max_length=100,
            description="Only deliveries of this exact event type (no families, no `*`)",
        ),
    ] = None,
    event_id: Annotated[
        uuid.UUID | None,
        Query(alias="eventId", description="Only deliveries of this event (replays included)"),
    ] = None,
) -> ListEnvelope[DeliveryOut]:
    """The webhook's deliveries, one per event sent to it (and one per replay), newest first
    by default.

    A delivery is `waiting` behind an earlier unfinished delivery of the same record,
    `pending` while queued or retrying, then `succeeded` (a 2xx answer) or `failed`.
    Timeouts, network errors, 5xx, 408 and 429 are retried with exponential backoff (by
    default from 30 s, doubling up to 6 h, never sooner than Retry-After) for up to 3 days,
    after which the delivery fails and Rapport disables the webhook (`webhook.disabled`).
    Other 4xx answers and redirects (never followed) fail the delivery at once, as does an
    event that cannot be encoded as JSON (`lastError` says why), and a 410 Gone also disables
    the webhook. Finished deliveries are kept 30 days; needs the crm:admin scope.
    """
    filters = DeliveryFilters(status=status, event_type=event_type, event_id=event_id)
    rows, meta = await webhooks.deliveries_page(webhook_id, filters, page)
    return ListEnvelope(data=[DeliveryOut.model_validate(d) for d in rows], meta=meta)


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    summary="One delivery with every attempt",
    responses=documented_errors({404: "No such webhook or delivery in this workspace"}),
)
async def get_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    webhooks: Webhooks,
) -> Envelope[DeliveryDetail]:
    """One delivery with every attempt made, first to last: when it started, the HTTP status,
    the latency, the error and the first KiB of the receiver's answer. Needs the crm:admin
    scope."""
    delivery, attempts = await webhooks.delivery(webhook_id, delivery_id)
    out = DeliveryOut.model_validate(delivery)
    return Envelope(
        data=DeliveryDetail(
            **out.model_dump(), attempt_log=[AttemptOut.model_validate(a) for a in attempts]
        )
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    summary="Send a delivery's event again now, as a new delivery",
    responses=documented_errors(
        {
            404: "No such webhook or delivery in this workspace",
            409: "The webhook is not active (WEBHOOK_INACTIVE)",
        }
    ),
)
async def replay_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    webhooks: Webhooks,
) -> Envelope[DeliveryOut]:
    """Sends the delivery's event to the webhook again, now, as a new delivery whose
    `replayOf` names the original, whatever the original's status. The replay goes to the
    current URL, signed with the current secret, is retried like any delivery and does not
    wait behind other deliveries of the record. The webhook must be active (409
    WEBHOOK_INACTIVE otherwise). The answer is the new delivery, `pending`; needs the
    crm:admin scope."""
    replay = await webhooks.replay(webhook_id, delivery_id)
    return Envelope(data=DeliveryOut.model_validate(replay))
