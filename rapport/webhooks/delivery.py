"""Turning events into deliveries, and carrying out one attempt of a delivery."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.config import Settings
from rapport.events.catalog import matches
from rapport.events.schemas import EventOut
from rapport.events.service import EventRecorder
from rapport.kit.clock import as_utc, utcnow
from rapport.kit.context import Context
from rapport.kit.crypto import UndecryptableSecret
from rapport.kit.ids import new_id
from rapport.models.events import Event
from rapport.models.webhooks import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery
from rapport.webhooks.outbound import Outcome, post_event
from rapport.webhooks.repository import DeliveryRepository, DispatchRepository, WebhookRepository
from rapport.webhooks.service import DELIVER_TASK, webhook_record
from rapport.webhooks.signing import secret_box
from rapport.worker.queue import enqueue, enqueue_many

SUCCESS_TIME_RESOLUTION = timedelta(seconds=10)
UNDECRYPTABLE = (
    "Not sent: the webhook's signing secret does not decrypt with this server's secret key "
    "(RAPPORT_SECRET_KEY, else secret.key in the data directory); every Rapport process must "
    "use the key the secret was stored with"
)


async def dispatch(session: AsyncSession, events: list[Event]) -> None:
    """One delivery per (matching active webhook, event). The first delivery of a record to a
    webhook is queued; later ones wait until the one before them is finished."""
    repo = DispatchRepository(session)
    webhooks: dict[uuid.UUID, list[Webhook]] = defaultdict(list)
    for webhook in await repo.active_webhooks({e.tenant_id for e in events}):
        webhooks[webhook.tenant_id].append(webhook)
    planned = [
        (webhook, event)
        for event in events
        for webhook in webhooks.get(event.tenant_id, ())
        if as_utc(webhook.created_at) <= as_utc(event.occurred_at)
        and matches(webhook.event_types, event.type)
    ]
    if not planned:
        return
    busy = await repo.unfinished_chains(
        {w.id for w, _ in planned}, {e.resource_id for _, e in planned}
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    jobs: list[tuple[uuid.UUID | None, dict[str, Any]]] = []
    for webhook, event in planned:
        chain = (webhook.id, event.resource_id)
        status = DeliveryStatus.WAITING if chain in busy else DeliveryStatus.PENDING
        busy.add(chain)
        delivery_id = new_id()
        rows.append(
            {
                "id": delivery_id,
                "tenant_id": event.tenant_id,
                "webhook_id": webhook.id,
                "event_id": event.id,
                "event_type": event.type,
                "event_sequence": event.sequence,
                "resource_id": event.resource_id,
                "status": status,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        if status == DeliveryStatus.PENDING:
            jobs.append((event.tenant_id, {"deliveryId": str(delivery_id)}))
    await repo.add_deliveries(rows)
    await enqueue_many(session, DELIVER_TASK, jobs)


def event_body(event: Event) -> bytes:
    """What a receiver gets: the event as `GET /events/{id}` shows it, with its workspace."""
    body = EventOut.of(event).model_dump(mode="json")
    body["workspaceId"] = str(event.tenant_id)
    return orjson.dumps(body)


class DeliveryRunner:
    """One attempt of one delivery. The HTTP request is made before anything is written (a
    slow receiver holds no lock), then the attempt, the delivery's state and the webhook's
    health are written together, with the next attempt or the next delivery of the record."""

    def __init__(self, context: Context, settings: Settings) -> None:
        self.context = context
        self.session = context.session
        self.tenant_id = context.workspace_id
        self.settings = settings
        self.deliveries = DeliveryRepository(context.session)
        self.webhooks = WebhookRepository(context.session)
        self.secrets = secret_box(settings.resolved_secret_key())

    async def run(self, delivery_id: uuid.UUID, claim: int) -> None:
        """Attempt the delivery, on the `claim`-th claim of its job. Earlier claims of the job
        recorded nothing (their worker died, or their transaction failed) but may have sent
        their request, so each counts as an attempt: attempt numbers never repeat."""
        found = await self.deliveries.to_send(delivery_id)
        if found is None or found[0].status != DeliveryStatus.PENDING:
            return  # its webhook was deleted, or it was finished by an earlier run
        delivery, webhook, event = found
        if not webhook.active or event is None:
            reason = "The webhook is not active" if event else "The event no longer exists"
            await self._finish(delivery, DeliveryStatus.FAILED, reason)
            return
        started = utcnow()
        number = delivery.attempts + claim
        outcome = await self._attempt(delivery, webhook, event, number)
        await self._record(delivery, webhook, started, number, outcome)

    async def abandon(self, delivery_id: uuid.UUID, reason: str) -> None:
        """Fail a delivery that no job will carry out any more (its job is dead), so that the
        deliveries of its record behind it go."""
        delivery = await self.deliveries.get(delivery_id)
        if delivery is not None and delivery.status == DeliveryStatus.PENDING:
            await self._finish(delivery, DeliveryStatus.FAILED, reason)

    async def _attempt(
        self, delivery: WebhookDelivery, webhook: Webhook, event: Event, number: int
    ) -> Outcome:
        """Build the request and send it. A request that cannot be built is not retried (it
        never could be), except for want of the right secret key, which an operator can
        restore."""
        try:
            body = event_body(event)
        except (TypeError, ValueError) as exc:  # orjson refuses integers beyond 64 bits
            error = f"Not sent: the event cannot be encoded as JSON ({exc})"
            return Outcome(None, 0, error, refused=True)
        try:
            secret = self.secrets.open(webhook.encrypted_secret, bound_to=str(webhook.id))
        except UndecryptableSecret:
            return Outcome(None, 0, UNDECRYPTABLE)
        return await post_event(
            webhook.url,
            secret,
            body,
            {
                "Rapport-Event-Id": str(event.id),
                "Rapport-Event-Type": event.type,
                "Rapport-Delivery-Id": str(delivery.id),
                "Rapport-Attempt": str(number),
            },
            allow_private=self.settings.allow_private_webhooks,
        )

    async def _record(
        self,
        delivery: WebhookDelivery,
        webhook: Webhook,
        started: datetime,
        number: int,
        outcome: Outcome,
    ) -> None:
        now = utcnow()
        delivery.attempts = number
        self.deliveries.session.add(
            WebhookAttempt(
                tenant_id=self.tenant_id,
                delivery_id=delivery.id,
                number=delivery.attempts,
                started_at=started,
                response_status=outcome.status,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                response_body=outcome.body,
            )
        )
        delivery.response_status = outcome.status
        delivery.latency_ms = outcome.latency_ms
        delivery.last_error = outcome.error
        if outcome.succeeded:
            if webhook.consecutive_failures or _stale(webhook.last_success_at, now):
                webhook.consecutive_failures = 0
                webhook.last_success_at = now
            await self._finish(delivery, DeliveryStatus.SUCCEEDED, None)
            return
        webhook.last_failure_at = now
        wait = self._wait_before_retry(delivery, outcome)
        if wait is not None:
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            await self.deliveries.flush()
            await enqueue(
                self.session,
                DELIVER_TASK,
                {"deliveryId": str(delivery.id)},
                tenant_id=self.tenant_id,
                run_at=delivery.next_attempt_at,
            )
            return
        webhook.consecutive_failures += 1
        if outcome.retryable:
            self._disable(webhook, f"Deliveries failed for {self._window_text()}: {outcome.error}")
        elif outcome.status == 410:
            self._disable(webhook, "The receiver answered 410 Gone")
        await self._finish(delivery, DeliveryStatus.FAILED, outcome.error)

    def _wait_before_retry(self, delivery: WebhookDelivery, outcome: Outcome) -> float | None:
        """Seconds until the next attempt, or None if the delivery should not be retried."""
        if not outcome.retryable:
            return None
        base = self.settings.webhook_retry_base_seconds
        wait: float = min(
            self.settings.webhook_retry_cap_seconds, base * 2 ** (delivery.attempts - 1)
        ) * random.uniform(0.75, 1.0)
        if outcome.retry_after is not None:
            wait = max(wait, outcome.retry_after)
        deadline = as_utc(delivery.created_at) + timedelta(
            seconds=self.settings.webhook_retry_window_seconds
        )
        if utcnow() + timedelta(seconds=wait) > deadline:
            return None
        return wait

    def _window_text(self) -> str:
        hours = self.settings.webhook_retry_window_seconds / 3600
        return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"

    def _disable(self, webhook: Webhook, reason: str) -> None:
        webhook.active = False
        webhook.disabled_reason = reason[:500]
        webhook.disabled_at = utcnow()
        EventRecorder(self.context).record(
            "webhook.disabled",
            "webhook",
            webhook.id,
            {"record": webhook_record(webhook), "reason": webhook.disabled_reason},
        )

    async def _finish(
        self, delivery: WebhookDelivery, status: DeliveryStatus, error: str | None
    ) -> None:
        """Close the delivery and queue the next delivery of the same record, if one waits.
        The webhook is locked before looking: that orders this against a dispatch adding
        deliveries behind this one."""
        delivery.status = status
        delivery.finished_at = utcnow()
        delivery.next_attempt_at = None
        if error is not None:
            delivery.last_error = error
        await self.deliveries.flush()
        if delivery.replay_of is not None:
            return
        await self.webhooks.hold(delivery.webhook_id)
        successor = await self.deliveries.next_waiting(delivery)
        if successor is None:
            return
        successor.status = DeliveryStatus.PENDING
        await self.deliveries.flush()
        await enqueue(
            self.session, DELIVER_TASK, {"deliveryId": str(successor.id)}, tenant_id=self.tenant_id
        )


def _stale(moment: datetime | None, now: datetime) -> bool:
    """Whether a webhook's last success time is worth writing again: busy webhooks would
    otherwise update their row (and wait on its lock) with every delivery."""
    return moment is None or now - as_utc(moment) >= SUCCESS_TIME_RESOLUTION
