"""The mail domain's dependencies: connections are read with crm:read and managed with
crm:admin; emails are read with crm:read and sent with crm:write."""

from typing import Annotated, Any

from fastapi import Depends, Request

from rapport.auth.dependencies import AdminAccess, ReadAccess, WriteAccess, server_settings
from rapport.mail.service import ConnectionService, OutboundEmailService


def _options(request: Request) -> dict[str, Any]:
    settings = server_settings(request)
    return {
        "allow_private": settings.allow_private_smtp,
        "secret_key": settings.resolved_secret_key(),
    }


async def _connections_read(context: ReadAccess, request: Request) -> ConnectionService:
    return ConnectionService(context, **_options(request))


async def _connections_admin(context: AdminAccess, request: Request) -> ConnectionService:
    return ConnectionService(context, **_options(request))


async def _emails_read(context: ReadAccess, request: Request) -> OutboundEmailService:
    return OutboundEmailService(context, **_options(request))


async def _emails_write(context: WriteAccess, request: Request) -> OutboundEmailService:
    return OutboundEmailService(context, **_options(request))


ConnectionsRead = Annotated[ConnectionService, Depends(_connections_read)]
ConnectionsAdmin = Annotated[ConnectionService, Depends(_connections_admin)]
EmailsRead = Annotated[OutboundEmailService, Depends(_emails_read)]
EmailsWrite = Annotated[OutboundEmailService, Depends(_emails_write)]
