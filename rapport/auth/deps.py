"""The auth domain's dependencies: API keys are managed with crm:admin, by a caller who can
grant no more than it holds."""

from typing import Annotated

from fastapi import Depends

from rapport.auth.dependencies import Caller, access
from rapport.auth.scopes import Scope
from rapport.auth.service import ApiKeyService
from rapport.kit.context import Context


async def _api_keys(
    context: Annotated[Context, access(Scope.CRM_ADMIN)], principal: Caller
) -> ApiKeyService:
    return ApiKeyService(
        context,
        grantable=principal.scopes,
        creator_user_id=principal.user_id,
        latest_expiry=principal.expires_at,
    )


ApiKeys = Annotated[ApiKeyService, Depends(_api_keys)]
