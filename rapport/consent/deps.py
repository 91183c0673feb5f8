"""The consent domain's dependencies: read with crm:read, recorded and confirmation emails
sent with crm:write; the confirmation page needs no credentials, only its signed link."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import access, server_settings
from rapport.auth.scopes import Scope
from rapport.consent.links import LinkNotFound
from rapport.consent.service import ConsentService
from rapport.kit.context import Context
from rapport.kit.errors import NotFound
from rapport.kit.requestctx import set_tenant_id
from rapport.kit.session import DbSession
from rapport.kit.tenant_guard import bind_workspace
from rapport.tenancy.service import WorkspaceService


async def _read(
    context: Annotated[Context, access(Scope.CRM_READ)], request: Request
) -> ConsentService:
    return ConsentService(context, server_settings(request))


async def _write(
    context: Annotated[Context, access(Scope.CRM_WRITE)], request: Request
) -> ConsentService:
    return ConsentService(context, server_settings(request))


async def link_context(db: DbSession, tenant_id: uuid.UUID) -> Context:
    """The context of the workspace a verified link names, for a page that needs no
    credentials; the link's 404 if the workspace is gone."""
    try:
        workspace = await WorkspaceService(db).get(tenant_id)
    except NotFound:
        raise LinkNotFound() from None
    set_tenant_id(str(tenant_id))
    bind_workspace(db, tenant_id)
    return Context.bound(db, tenant_id, workspace.settings)


ConsentRead = Annotated[ConsentService, Depends(_read)]
ConsentWrite = Annotated[ConsentService, Depends(_write)]
