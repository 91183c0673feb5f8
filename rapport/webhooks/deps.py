"""The webhooks domain's dependencies: subscriptions and their delivery logs need
crm:admin."""

from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import AdminAccess
from rapport.config import Settings
from rapport.webhooks.service import WebhookService


async def _webhooks(context: AdminAccess, request: Request) -> WebhookService:
    settings: Settings = request.app.state.settings
    return WebhookService(
        context,
        allow_private=settings.allow_private_webhooks,
        secret_key=settings.resolved_secret_key(),
    )


Webhooks = Annotated[WebhookService, Depends(_webhooks)]
