"""The campaigns domain's dependencies: everything needs crm:campaigns; sending, pausing,
resuming and cancelling count against the `campaigns` rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import RateLimit, access
from rapport.auth.scopes import Scope
from rapport.campaigns.service import CampaignService
from rapport.consent.deps import settings_of
from rapport.kit.context import Context


async def _manage(
    context: Annotated[Context, access(Scope.CRM_CAMPAIGNS)], request: Request
) -> CampaignService:
    return CampaignService(context, settings_of(request))


async def _send(
    context: Annotated[Context, access(Scope.CRM_CAMPAIGNS, rate_limit=RateLimit("campaigns"))],
    request: Request,
) -> CampaignService:
    return CampaignService(context, settings_of(request))


Campaigns = Annotated[CampaignService, Depends(_manage)]
CampaignSending = Annotated[CampaignService, Depends(_send)]
