"""Webhook rules: safe URLs, known event types, secrets shown once, the delivery log and
replays."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import Select

from rapport.events.service import EventRecorder, changes_between
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import Conflict, NotFound, field_error
from rapport.kit.ids import new_id
from rapport.kit.pagination import PageRequest
from rapport.models.webhooks import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery
from rapport.webhooks.outbound import UnsafeUrl, check_url
from rapport.webhooks.repository import (
    AttemptRepository,
    DeliveryFilters,
    DeliveryRepository,
    WebhookRepository,
)
from rapport.webhooks.schemas import WebhookCreate, WebhookOut, WebhookUpdate
from rapport.webhooks.signing import new_secret, secret_box
from rapport.worker.queue import enqueue

DELIVER_TASK = "webhooks.deliver"


class WebhookService:
    def __init__(self, context: Context, *, allow_private: bool, secret_key: str) -> None:
        self.session = context.session
        self.tenant_id = context.workspace_id
        self.repo = WebhookRepository(context.session)
        self.deliveries = DeliveryRepository(context.session)
        self.attempts = AttemptRepository(context.session)
        self.events = EventRecorder(context)
        self.allow_private = allow_private
        self.secrets = secret_box(secret_key)

    async def page(self, active: bool | None, page: PageRequest) -> tuple[list[Webhook], PageMeta]:
        return await self.repo.page(active, page)

    async def get(self, webhook_id: uuid.UUID) -> Webhook:
        webhook = await self.repo.get(webhook_id)
        if webhook is None:
            raise NotFound("Webhook not found")
        return webhook

    async def create(self, body: WebhookCreate) -> tuple[Webhook, str]:
        """The new webhook and its secret, which is stored encrypted and shown only now."""
        await self._check_url(body.url)
        webhook = Webhook(
            id=new_id(),
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            active=body.active,
            consecutive_failures=0,
        )
        secret = self._new_secret(webhook)
        self.repo.add(webhook)
        await self.repo.flush()
        record = {"record": webhook_record(webhook)}
        self.events.record("webhook.created", "webhook", webhook.id, record)
        return webhook, secret

    async def update(self, webhook_id: uuid.UUID, body: WebhookUpdate) -> Webhook:
        webhook = await self.get(webhook_id)
        sent = body.model_fields_set
        changes: dict[str, Any] = {
            field: getattr(body, field)
            for field in ("url", "event_types", "description", "active")
            if field in sent
        }
        for field in ("url", "event_types", "active"):
            if field in changes and changes[field] is None:
                raise field_error(to_camel(field), "May not be null")
        changes = {k: v for k, v in changes.items() if getattr(webhook, k) != v}
        if "url" in changes:
            await self._check_url(changes["url"])
        if changes.get("active") is True:
            changes.update(disabled_reason=None, disabled_at=None, consecutive_failures=0)
        if not changes:
            return webhook
        before = webhook_record(webhook)
        for field, value in changes.items():
            setattr(webhook, field, value)
        await self.repo.flush()
        self._updated(webhook, before)
        return webhook

    async def rotate_secret(self, webhook_id: uuid.UUID) -> tuple[Webhook, str]:
        """A new secret signs every delivery from now on (retries of earlier ones included);
        the webhook and that secret, shown only now."""
        webhook = await self.get(webhook_id)
        before = webhook_record(webhook)
        secret = self._new_secret(webhook)
        webhook.updated_at = utcnow()
        await self.repo.flush()
        self._updated(webhook, before, secret_rotated=True)
        return webhook, secret

    async def delete(self, webhook_id: uuid.UUID) -> None:
        """Deletes the webhook with its delivery log; deliveries in flight are dropped."""
        webhook = await self.get(webhook_id)
        record = webhook_record(webhook)
        await self.session.delete(webhook)
        await self.repo.flush()
        self.events.record("webhook.deleted", "webhook", webhook_id, {"record": record})

    async def deliveries_page(
        self, webhook_id: uuid.UUID, filters: DeliveryFilters, page: PageRequest
    ) -> tuple[list[WebhookDelivery], PageMeta]:
        await self.get(webhook_id)
        return await self.deliveries.page(webhook_id, filters, page)

    async def delivery(
        self, webhook_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
        await self.get(webhook_id)
        delivery = await self.deliveries.of_webhook(webhook_id, delivery_id)
        if delivery is None:
            raise NotFound("Delivery not found")
        return delivery, await self.attempts.of_delivery(delivery.id)

    async def replay(self, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery:
        """Send the delivery's event again, now, as a new delivery (outside the per-record
        order: a replay is an explicit request)."""
        webhook = await self.get(webhook_id)
        original, _attempts = await self.delivery(webhook_id, delivery_id)
        if not webhook.active:
            raise Conflict("The webhook is not active; activate it first", code="WEBHOOK_INACTIVE")
        replay = self.deliveries.add(
            WebhookDelivery(
                webhook_id=webhook.id,
                event_id=original.event_id,
                event_type=original.event_type,
                event_sequence=original.event_sequence,
                resource_id=original.resource_id,
                status=DeliveryStatus.PENDING,
                attempts=0,
                replay_of=original.id,
            )
        )
        await self.deliveries.flush()
        await enqueue(
            self.session, DELIVER_TASK, {"deliveryId": str(replay.id)}, tenant_id=self.tenant_id
        )
        return replay

    def _new_secret(self, webhook: Webhook) -> str:
        """Give the webhook a new secret (stored encrypted); the secret."""
        secret = new_secret()
        webhook.encrypted_secret = self.secrets.seal(secret, bound_to=str(webhook.id))
        return secret

    async def _check_url(self, url: str) -> None:
        try:
            await check_url(url, allow_private=self.allow_private)
        except UnsafeUrl as exc:
            raise field_error("url", str(exc)) from exc

    def _updated(
        self, webhook: Webhook, before: dict[str, Any], *, secret_rotated: bool = False
    ) -> None:
        record = webhook_record(webhook)
        data: dict[str, Any] = {"record": record, "changes": changes_between(before, record)}
        if secret_rotated:
            data["secretRotated"] = True
        self.events.record("webhook.updated", "webhook", webhook.id, data)


class DeliveryLog:
    """The deliveries of given events, as a person's data (no signing secret needed)."""

    def __init__(self, context: Context) -> None:
        self.deliveries = DeliveryRepository(context.session)
        self.attempts = AttemptRepository(context.session)

    async def of_events(self, event_ids: Select[Any]) -> list[WebhookDelivery]:
        """The deliveries of the events a subquery selects the ids of."""
        return await self.deliveries.of_events(event_ids)

    async def redact(self, event_ids: Select[Any]) -> int:
        """An erasure: the deliveries of these events (whose bodies are the events, redacted
        by their domain; one still to be sent carries the redacted event) keep their log
        without the receivers' answers, which may echo what they were sent. How many."""
        await self.attempts.forget_answers(self.deliveries.ids_of_events(event_ids))
        return await self.deliveries.count_of_events(event_ids)


def webhook_record(webhook: Webhook) -> dict[str, Any]:
    """The webhook as the API shows it (never its secret), which is also what events carry."""
    return WebhookOut.model_validate(webhook).model_dump(mode="json")
