"""HTTP routes of webhooks and their delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

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


def _with_secret(webhook: Webhook) -> WebhookWithSecret:
    out = WebhookOut.model_validate(webhook)
    return WebhookWithSecret(**out.model_dump(), secret=webhook.secret)


@router.get("/event-types", summary="Every event type a webhook can subscribe to")
async def list_event_types(_context: AdminAccess) -> ListEnvelope[EventTypeOut]:
    return ListEnvelope.whole([EventTypeOut(type=t, description=d) for t, d in EVENT_TYPES.items()])


@router.get("", summary="List webhooks")
async def list_webhooks(
    webhooks: Webhooks,
    page: Annotated[PageRequest, Depends(Pagination(WebhookRepository.sort_columns))],
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones")] = None,
) -> ListEnvelope[WebhookOut]:
    rows, meta = await webhooks.page(active, page)
    return ListEnvelope(data=[WebhookOut.model_validate(w) for w in rows], meta=meta)


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to events; the signing secret is in this response only",
)
async def create_webhook(body: WebhookCreate, webhooks: Webhooks) -> Envelope[WebhookWithSecret]:
    webhook = await webhooks.create(body)
    return Envelope(data=_with_secret(webhook))


@router.get("/{webhook_id}", summary="One webhook (without its secret)", responses=_NOT_FOUND)
async def get_webhook(webhook_id: uuid.UUID, webhooks: Webhooks) -> Envelope[WebhookOut]:
    webhook = await webhooks.get(webhook_id)
    return Envelope(data=WebhookOut.model_validate(webhook))


@router.patch(
    "/{webhook_id}",
    summary="Change the URL, event types, description or active flag",
    responses=_NOT_FOUND,
)
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, webhooks: Webhooks
) -> Envelope[WebhookOut]:
    webhook = await webhooks.update(webhook_id, body)
    return Envelope(data=WebhookOut.model_validate(webhook))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook and its delivery log",
    responses=_NOT_FOUND,
)
async def delete_webhook(webhook_id: uuid.UUID, webhooks: Webhooks) -> Response:
    await webhooks.delete(webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Replace the signing secret; the new one is in this response only",
    responses=_NOT_FOUND,
)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, webhooks: Webhooks
) -> Envelope[WebhookWithSecret]:
    webhook = await webhooks.rotate_secret(webhook_id)
    return Envelope(data=_with_secret(webhook))


@router.get(
    "/{webhook_id}/deliveries",
    summary="The webhook's delivery log, newest first by default",
    responses=_NOT_FOUND,
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    webhooks: Webhooks,
    page: Annotated[PageRequest, Depends(Pagination(DeliveryRepository.sort_columns))],
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(alias="eventType", max_length=100)] = None,
    event_id: Annotated[uuid.UUID | None, Query(alias="eventId")] = None,
) -> ListEnvelope[DeliveryOut]:
    filters = DeliveryFilters(status=status, event_type=event_type, event_id=event_id)
    rows, meta = await webhooks.deliveries_page(webhook_id, filters, page)
    return ListEnvelope(data=[DeliveryOut.model_validate(d) for d in rows], meta=meta)


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    summary="One delivery with every attempt",
    responses=documented_errors({404: "No such webhook or delivery in this workspace"}),
)
async def get_delivery(
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    webhooks: Webhooks,
) -> Envelope[DeliveryDetail]:
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
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    webhooks: Webhooks,
) -> Envelope[DeliveryOut]:
    replay = await webhooks.replay(webhook_id, delivery_id)
    return Envelope(data=DeliveryOut.model_validate(replay))
