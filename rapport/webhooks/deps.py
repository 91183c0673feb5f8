"""The webhooks domain's dependencies: subscriptions and their delivery logs need
crm:admin."""

from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import AdminAccess, server_settings
from rapport.webhooks.service import WebhookService


async def _webhooks(context: AdminAccess, request: Request) -> WebhookService:
    settings = server_settings(request)
    return WebhookService(
        context,
        allow_private=settings.allow_private_webhooks,
        secret_key=settings.resolved_secret_key(),
    )


Webhooks = Annotated[WebhookService, Depends(_webhooks)]
