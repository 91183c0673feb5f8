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
    """The workspace the credential belongs to (for a session token, the one named by
    `X-Tenant-Id`, or the user's only workspace): its name and settings.
    `settings.rateLimits` lists only the categories overridden for this workspace; the
    others use the server's defaults."""
    tenant = await WorkspaceService(context.session).get(context.workspace_id)
    return Envelope(data=WorkspaceOut.model_validate(tenant))


@router.patch("", summary="Rename the workspace or change its settings (rate limits, phone region)")
async def update_workspace(
    body: WorkspaceUpdate, request: Request, context: AdminAccess
) -> Envelope[WorkspaceOut]:
    """Rename the workspace or change its settings. Requires the `crm:admin` scope. Only the
    settings sent change, and a setting sent as `null` returns to its default; `rateLimits`
    is replaced as a whole, so send every category you want to override. `name` cannot be
    cleared (`null` leaves it as it is). New settings apply to the workspace's API keys at
    once on this server, and within a few seconds on the others."""
    tenant = await WorkspaceService(context.session).update(context.workspace_id, body)
    cache: KeyCache = request.app.state.key_cache
    after_commit(request, lambda: cache.forget(tenant_id=tenant.id))
    return Envelope(data=WorkspaceOut.model_validate(tenant))
