"""HTTP routes of outbound email connections and outbound emails."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Response

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.mail.deps import ConnectionsAdmin, ConnectionsRead, EmailsRead, EmailsWrite
from rapport.mail.repository import ConnectionRepository
from rapport.mail.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionUpdate,
    OutboundEmailCreate,
    OutboundEmailOut,
)
from rapport.mail.service import connection_out

router = api_router(tags=["Outbound email"])

ConnectionId = Annotated[uuid.UUID, Path(description="The outbound email connection's id")]
EmailId = Annotated[uuid.UUID, Path(description="The outbound email's id")]

_CONNECTION_404 = documented_errors({404: "No such outbound email connection in this workspace"})
_NAME_TAKEN = documented_errors(
    {409: "Another connection has this name (EMAIL_CONNECTION_NAME_EXISTS)"}
)


@router.get("/outbound-email-connections", summary="List outbound email connections")
async def list_outbound_email_connections(
    connections: ConnectionsRead,
    page: Annotated[PageRequest, Depends(Pagination(ConnectionRepository.sort_columns))],
) -> ListEnvelope[ConnectionOut]:
    """The workspace's SMTP connections, newest first by default, without their passwords
    (`hasPassword` is true). Needs the crm:read scope."""
    rows, meta = await connections.page(page)
    return ListEnvelope(data=[connection_out(c) for c in rows], meta=meta)


@router.post(
    "/outbound-email-connections",
    status_code=201,
    summary="Add an SMTP connection to send email through (verified first)",
    responses=_NAME_TAKEN,
)
async def create_outbound_email_connection(
    body: ConnectionCreate, connections: ConnectionsAdmin, response: Response
) -> Envelope[ConnectionOut]:
    """Adds an SMTP account that emails to contacts can be sent through
    (`POST /outbound-email`).

    The server is checked before anything is saved: Rapport connects (to a public address
    only, unless the server sets RAPPORT_ALLOW_PRIVATE_SMTP=1), starts TLS as `tlsMode` says
    and logs in. When a step fails the answer is 422 naming the field at fault (`host`,
    `tlsMode` or `password`) with the server's reply, and nothing is stored; `verifiedAt`
    records when the server accepted it.

    The password is stored encrypted with a key derived from the server's secret key and never
    shown again. `channel` may be `gmail` or `outlook` to name the provider: for now those go
    through the provider's SMTP server with an app password, like `smtp` (signing in with
    Google or Microsoft, OAuth, is not supported). Names are unique in the workspace (409
    EMAIL_CONNECTION_NAME_EXISTS). Needs the crm:admin scope; emits
    `outbound_email_connection.created`."""
    connection = await connections.create(body)
    response.headers["Location"] = f"/api/v1/outbound-email-connections/{connection.id}"
    return Envelope(data=connection_out(connection))


@router.get(
    "/outbound-email-connections/{connection_id}",
    summary="One outbound email connection (without its password)",
    responses=_CONNECTION_404,
)
async def get_outbound_email_connection(
    connection_id: ConnectionId, connections: ConnectionsRead
) -> Envelope[ConnectionOut]:
    """One SMTP connection of the workspace; its password is never shown. Needs the crm:read
    scope."""
    return Envelope(data=connection_out(await connections.get(connection_id)))


@router.patch(
    "/outbound-email-connections/{connection_id}",
    summary="Change an outbound email connection (verified again)",
    responses={**_CONNECTION_404, **_NAME_TAKEN},
)
async def update_outbound_email_connection(
    connection_id: ConnectionId, body: ConnectionUpdate, connections: ConnectionsAdmin
) -> Envelope[ConnectionOut]:
    """Changes the fields sent; only `fromName` can be null (which clears it). A password
    left out keeps the stored one.

    A change is saved only once the connection, as it would be, passes the check of its
    creation again: Rapport connects (to a public address only, unless the server sets
    RAPPORT_ALLOW_PRIVATE_SMTP=1), starts TLS as `tlsMode` says and logs in, else answers 422
    naming the field at fault with the server's reply and changes nothing. A body that
    changes nothing is answered with the connection as it is, unchecked. Needs the crm:admin
    scope; emits
    `outbound_email_connection.updated` (`passwordChanged: true` when a new password was
    sent; events never hold it)."""
    connection = await connections.update(connection_id, body)
    return Envelope(data=connection_out(connection))


@router.delete(
    "/outbound-email-connections/{connection_id}",
    status_code=204,
    summary="Delete an outbound email connection",
    responses=_CONNECTION_404,
)
async def delete_outbound_email_connection(
    connection_id: ConnectionId, connections: ConnectionsAdmin
) -> Response:
    """Deletes the connection and its stored password. Emails sent through it keep their
    record (`connectionId` becomes null); those still queued are not sent and fail. Needs
    the crm:admin scope; emits `outbound_email_connection.deleted`."""
    await connections.delete(connection_id)
    return Response(status_code=204)


@router.post(
    "/outbound-email",
    status_code=202,
    summary="Send an email to a contact or about a lead (queued; a background job sends it)",
    responses=documented_errors(
        {409: "`EMAIL_SUPPRESSED`: the contact's address is on the suppression list"}
    ),
)
async def send_outbound_email(
    body: OutboundEmailCreate, emails: EmailsWrite, response: Response
) -> Envelope[OutboundEmailOut]:
    """Queues an email to the contact's email address (`contactId`, else the contact of the
    lead `leadId` names) through an outbound email connection and answers 202 with it,
    `queued`; a background job sends it, and
    `GET /outbound-email/{email_id}` follows it.

    The HTML is sanitised (scripts, style sheets, event handlers, forms and unsafe links are
    removed); without `textBody` the plain-text part is derived from it. The message is sent
    From the connection's `fromName <fromAddress>`, with a `messageId` recorded now. The
    contact must exist and have an email address, and `channel`, if sent, must be the
    connection's (422 naming the field otherwise; nothing is stored).

    An EMAIL activity is logged on the contact's timeline at once (and on the lead's, linked
    to the lead's company too, when the email is about a lead), its
    `properties.delivery` (`status`, `messageId`, `emailId`, `error`) following the email.
    A server answering 4xx, or that cannot be reached, is retried with backoff (about 1
    minute, doubling up to an hour, 10 attempts); a 5xx answer, or the last retry, fails the
    email with the server's reply in `error`. Needs the crm:write scope; emits
    `outbound_email.queued`, then `outbound_email.sent` or `outbound_email.failed`."""
    email = await emails.queue(body)
    response.headers["Location"] = f"/api/v1/outbound-email/{email.id}"
    return Envelope(data=OutboundEmailOut.of(email))


@router.get(
    "/outbound-email/{email_id}",
    summary="One outbound email and its delivery status",
    responses=documented_errors({404: "No such outbound email in this workspace"}),
)
async def get_outbound_email(email_id: EmailId, emails: EmailsRead) -> Envelope[OutboundEmailOut]:
    """An email sent (or being sent) to a contact: `status` queued, sent or failed, the
    server's reply when it failed, the Message-ID and what was sent. Needs the crm:read
    scope."""
    return Envelope(data=OutboundEmailOut.of(await emails.get(email_id)))
