"""The exports domain's dependencies. Exports are read and requested with crm:read and
crm:import (an export copies the workspace's records in bulk, which a workspace grants apart
from reading them: viewers and read-only keys cannot); requests count against the
`import_export` rate limit. A download is served to such a caller, or to anyone holding the
export's signed link (no credentials), while the link lasts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request

from rapport.auth.dependencies import (
    TENANT_PARAMS,
    RateLimit,
    access,
    count_anonymous,
    server_settings,
)
from rapport.auth.scopes import Scope
from rapport.exports.service import ExportService, check_link
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.errors import Forbidden
from rapport.kit.query import refuse_unknown_query
from rapport.kit.requestctx import set_tenant_id
from rapport.kit.session import DbSession
from rapport.kit.tenant_guard import bind_workspace

_SCOPES = (Scope.CRM_READ, Scope.CRM_IMPORT)
_REQUESTS = RateLimit("import_export")
_reader = access(*_SCOPES)


async def _read(context: Annotated[Context, _reader], request: Request) -> ExportService:
    return ExportService(context, server_settings(request))


async def _request(
    context: Annotated[Context, access(*_SCOPES, rate_limit=_REQUESTS)], request: Request
) -> ExportService:
    return ExportService(context, server_settings(request))


async def _download(
    request: Request,
    db: DbSession,
    expires: Annotated[
        int | None,
        Query(
            ge=0,
            le=253_402_300_799,
            description="Of a signed link: when it expires (epoch seconds)",
        ),
    ] = None,
    signature: Annotated[
        str | None,
        Query(max_length=100, description="Of a signed link: its signature"),
    ] = None,
) -> ExportService:
    """A caller with credentials, or the holder of a signed link: `tenantId`, `expires` and
    `signature` as `downloadUrl` gives them, checked before anything is read."""
    if expires is None and signature is None:
        return ExportService(await _reader.dependency(request, db), server_settings(request))
    await count_anonymous(request, "read")
    refuse_unknown_query(request, also_known=TENANT_PARAMS)
    invalid = Forbidden("This download link is incomplete", code="DOWNLOAD_LINK_INVALID")
    try:
        tenant_id = uuid.UUID(request.query_params.get("tenantId", ""))
        export_id = uuid.UUID(request.path_params["export_id"])
    except ValueError:
        raise invalid from None
    if expires is None or signature is None:
        raise invalid
    settings = server_settings(request)
    check_link(settings.resolved_secret_key(), tenant_id, export_id, expires, signature, utcnow())
    set_tenant_id(str(tenant_id))
    bind_workspace(db, tenant_id)
    return ExportService(Context(db, tenant_id), settings)


ExportsRead = Annotated[ExportService, Depends(_read)]
ExportsRequest = Annotated[ExportService, Depends(_request)]
ExportsDownload = Annotated[ExportService, Depends(_download)]
