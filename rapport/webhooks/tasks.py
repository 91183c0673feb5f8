"""Background work of webhooks: dispatching events, and delivering them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from rapport.events.stream import consumer
from rapport.kit.clock import utcnow
from rapport.webhooks.delivery import DeliveryRunner, dispatch
from rapport.webhooks.repository import DispatchRepository
from rapport.webhooks.service import DELIVER_TASK
from rapport.worker.registry import JobContext, task

DELIVERY_LOG_KEPT = timedelta(days=30)

consumer("webhooks")(dispatch)


async def _abandon(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """A delivery whose job died (Rapport's own failures, or workers that stopped during every
    attempt) fails, rather than holding up the deliveries of its record behind it."""
    runner = DeliveryRunner(context.workspace, context.settings)
    reason = f"Rapport could not carry out this delivery (its job failed: {error[:400]})"
    await runner.abandon(uuid.UUID(payload["deliveryId"]), reason)


@task(DELIVER_TASK, max_attempts=5, on_dead=_abandon)
async def deliver(context: JobContext, payload: dict[str, Any]) -> None:
    """One attempt; the runner queues the next one itself, so that the attempt's log commits
    even when the receiver failed. Failures of this job are Rapport's own (database errors)."""
    runner = DeliveryRunner(context.workspace, context.settings)
    await runner.run(uuid.UUID(payload["deliveryId"]), claim=context.attempt)


@task("webhooks.purge", schedule="43 3 * * *", max_attempts=3)
async def purge(context: JobContext, _payload: dict[str, Any]) -> None:
    """Drop deliveries (with their attempts) finished more than 30 days ago."""
    await DispatchRepository(context.session).delete_finished_before(utcnow() - DELIVERY_LOG_KEPT)
