"""Background work of outbound email: sending each queued email."""

from __future__ import annotations

import uuid
from typing import Any

from rapport.mail.service import SEND_TASK, OutboundEmailService, SendLater
from rapport.worker.registry import JobContext, Retry, task


def _emails(context: JobContext) -> OutboundEmailService:
    return OutboundEmailService(
        context.workspace,
        allow_private=context.settings.allow_private_smtp,
        secret_key=context.settings.resolved_secret_key(),
    )


async def _give_up(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """The server kept answering "later" (or could not be reached) until the attempts ran
    out: the email fails with the last answer."""
    await _emails(context).give_up(uuid.UUID(payload["emailId"]), context.attempt, error)


@task(SEND_TASK, max_attempts=10, backoff_base=60.0, backoff_cap=3600.0, on_dead=_give_up)
async def send(context: JobContext, payload: dict[str, Any]) -> None:
    """One attempt to hand a queued email to its SMTP server. A temporary refusal is retried
    with backoff (about 1 minute, doubling up to an hour, 10 attempts in all)."""
    try:
        await _emails(context).send(uuid.UUID(payload["emailId"]), context.attempt)
    except SendLater as exc:
        raise Retry(str(exc)) from exc
