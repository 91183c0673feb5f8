"""The campaigns domain's dependencies: everything needs crm:campaigns; sending, pausing,
resuming and cancelling count against the `campaigns` rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import RateLimit, access, server_settings
from rapport.auth.scopes import Scope
from rapport.campaigns.service import CampaignService
from rapport.kit.context import Context


async def _manage(
    context: Annotated[Context, access(Scope.CRM_CAMPAIGNS)], request: Request
) -> CampaignService:
    return CampaignService(context, server_settings(request))


async def _send(
    context: Annotated[Context, access(Scope.CRM_CAMPAIGNS, rate_limit=RateLimit("campaigns"))],
    request: Request,
) -> CampaignService:
    return CampaignService(context, server_settings(request))


Campaigns = Annotated[CampaignService, Depends(_manage)]
CampaignSending = Annotated[CampaignService, Depends(_send)]
