"""HTTP routes of the current workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import Authenticator, KeyCache
from rapport.auth.principal import Principal
from rapport.auth.scopes import Scope
from rapport.kit.envelope import Envelope
from rapport.kit.session import DbSession, after_commit, api_router
from rapport.tenancy.schemas import WorkspaceOut, WorkspaceUpdate
from rapport.tenancy.service import WorkspaceService

router = api_router(prefix="/workspace", tags=["Workspace"])


@router.get("", summary="The workspace of the credential")
async def get_workspace(
    db: DbSession, principal: Annotated[Principal, Depends(Authenticator(Scope.CRM_READ))]
) -> Envelope[WorkspaceOut]:
    tenant = await WorkspaceService(db).get(principal.tenant_id)
    return Envelope(data=WorkspaceOut.model_validate(tenant))


@router.patch("", summary="Rename the workspace or change its settings (rate limits, phone region)")
async def update_workspace(
    body: WorkspaceUpdate,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(Authenticator(Scope.CRM_ADMIN))],
) -> Envelope[WorkspaceOut]:
    tenant = await WorkspaceService(db).update(principal.tenant_id, body)
    cache: KeyCache = request.app.state.key_cache
    after_commit(request, lambda: cache.forget(tenant_id=tenant.id))
    return Envelope(data=WorkspaceOut.model_validate(tenant))
