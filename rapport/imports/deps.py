"""The imports domain's dependencies: imports are made and read with crm:write and crm:import
(an import writes the workspace's records in bulk, which a workspace grants apart from writing
them one by one); an upload counts against the `import_export` rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rapport.auth.dependencies import RateLimit, access, server_settings
from rapport.auth.scopes import Scope
from rapport.imports.service import ImportService
from rapport.kit.context import Context

_SCOPES = (Scope.CRM_WRITE, Scope.CRM_IMPORT)


def _service(context: Context, request: Request) -> ImportService:
    settings = server_settings(request)
    return ImportService(context, settings)


async def _read(context: Annotated[Context, access(*_SCOPES)], request: Request) -> ImportService:
    return _service(context, request)


async def _upload(
    context: Annotated[Context, access(*_SCOPES, rate_limit=RateLimit("import_export"))],
    request: Request,
) -> ImportService:
    return _service(context, request)


ImportsRead = Annotated[ImportService, Depends(_read)]
ImportsUpload = Annotated[ImportService, Depends(_upload)]
