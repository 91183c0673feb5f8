"""Background work of campaigns: starting each (its audience frozen), sending each chunk."""

from __future__ import annotations

import uuid
from typing import Any

from rapport.campaigns.sender import CampaignSender, ConnectionFailed
from rapport.campaigns.service import SEND_TASK, START_TASK, CampaignService
from rapport.kit.context import Context
from rapport.tenancy.service import WorkspaceService
from rapport.worker.registry import JobContext, Retry, task


def _sender(context: JobContext) -> CampaignSender:
    if context.tenant_id is None:
        raise ValueError("A campaign belongs to a workspace")
    return CampaignSender(context.database, context.tenant_id, context.settings)


@task(START_TASK, max_attempts=5)
async def start(context: JobContext, payload: dict[str, Any]) -> None:
    """Freeze the audience and queue the chunk jobs (at the scheduled time)."""
    if context.tenant_id is None:
        raise ValueError("A campaign belongs to a workspace")
    workspace = await WorkspaceService(context.session).get(context.tenant_id)
    service = CampaignService(
        Context.bound(context.session, context.tenant_id, workspace.settings), context.settings
    )
    await service.start(uuid.UUID(payload["campaignId"]))


async def _halt(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """The connection kept failing until the attempts ran out: the campaign pauses, saying
    why; its queued messages wait for `resume`."""
    await _sender(context).halt(
        uuid.UUID(payload["campaignId"]), f"Sending stopped: {error}. Fix it, then resume."
    )


@task(SEND_TASK, max_attempts=8, backoff_base=30.0, backoff_cap=1800.0, on_dead=_halt)
async def send(context: JobContext, payload: dict[str, Any]) -> None:
    """Send one chunk's queued messages; a connection failure is retried with backoff
    (about 30 s, doubling up to 30 minutes, 8 attempts in all)."""
    try:
        await _sender(context).send_chunk(uuid.UUID(payload["campaignId"]), int(payload["chunk"]))
    except ConnectionFailed as exc:
        raise Retry(str(exc)) from exc
