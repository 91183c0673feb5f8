"""HTTP routes of the current workspace."""

from __future__ import annotations

from fastapi import Request

from rapport.auth.dependencies import AdminAccess, KeyCache, ReadAccess
from rapport.kit.envelope import Envelope
from rapport.kit.session import after_commit, api_router
from rapport.tenancy.schemas import WorkspaceOut, WorkspaceUpdate
from rapport.tenancy.service import WorkspaceService

router = api_router(prefix="/workspace", tags=["Workspace"])


@router.get("", summary="The workspace of the credential")
async def get_workspace(context: ReadAccess) -> Envelope[WorkspaceOut]:
    tenant = await WorkspaceService(context.session).get(context.workspace_id)
    return Envelope(data=WorkspaceOut.model_validate(tenant))


@router.patch("", summary="Rename the workspace or change its settings (rate limits, phone region)")
async def update_workspace(
    body: WorkspaceUpdate, request: Request, context: AdminAccess
) -> Envelope[WorkspaceOut]:
    tenant = await WorkspaceService(context.session).update(context.workspace_id, body)
    cache: KeyCache = request.app.state.key_cache
    after_commit(request, lambda: cache.forget(tenant_id=tenant.id))
    return Envelope(data=WorkspaceOut.model_validate(tenant))
