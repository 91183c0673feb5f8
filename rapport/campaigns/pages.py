"""The pages a campaign's links open without a login: the unsubscribe page (GET shows a
button, POST unsubscribes: what a person's click and a mail client's RFC 8058 one-click POST
both send) and the message viewed in a browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from rapport.auth.dependencies import count_anonymous, server_settings
from rapport.campaigns.service import CampaignService
from rapport.campaigns.tracking import PIXEL
from rapport.config import Settings
from rapport.consent.deps import link_context
from rapport.consent.links import (
    CLICK_PATH,
    OPEN_PATH,
    UNSUBSCRIBE_PATH,
    VIEW_PATH,
    EmailLinks,
    LinkNotFound,
    Token,
)
from rapport.kit.pages import page, shown_as_page
from rapport.kit.session import DbSession, DbWriteSession, api_router
from rapport.models.campaigns import CampaignMessage

pages = api_router(include_in_schema=False)

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

LinkToken = Annotated[str, Path(description="The link's signed token")]
_TITLE = "Unsubscribe"


@pages.get(UNSUBSCRIBE_PATH + "{token}")
@shown_as_page(_TITLE)
async def unsubscribe_page(token: LinkToken, request: Request, db: DbSession) -> HTMLResponse:
    await _message(request, db, EmailLinks.of(server_settings(request)).read_unsubscribe, token)
    return page(_TITLE, "Click below to stop receiving these emails.", button="Unsubscribe")


@pages.post(UNSUBSCRIBE_PATH + "{token}")
@shown_as_page(_TITLE)
async def unsubscribe(token: LinkToken, request: Request, db: DbSession) -> HTMLResponse:
    campaigns, message = await _message(
        request, db, EmailLinks.of(server_settings(request)).read_unsubscribe, token
    )
    await campaigns.unsubscribe(message)
    return page("You are unsubscribed", "You will not receive these emails any more.")


@pages.get(VIEW_PATH + "{token}")
@shown_as_page("Email")
async def view_message(token: LinkToken, request: Request, db: DbSession) -> HTMLResponse:
    campaigns, message = await _message(
        request, db, EmailLinks.of(server_settings(request)).read_view, token
    )
    html = await campaigns.view(message)
    if html is None:
        raise LinkNotFound("This message is no longer available")
    return HTMLResponse(html, headers=_NO_STORE)


async def _message(
    request: Request, db: DbSession, read: Callable[[str], Token], token: str
) -> tuple[CampaignService, CampaignMessage]:
    """The campaign service of the link's workspace and the message it names; 404 for an
    altered link or a message that is gone."""
    await count_anonymous(request, "read")
    return await _message_of(db, read(token), server_settings(request))


async def _message_of(
    db: DbSession, found: Token, settings: Settings
) -> tuple[CampaignService, CampaignMessage]:
    campaigns = CampaignService(await link_context(db, found.tenant_id), settings)
    message = await campaigns.message(found.subject_id)
    if message is None:
        raise LinkNotFound()
    return campaigns, message


@pages.get(OPEN_PATH + "{token}")
@shown_as_page("Email")
async def open_pixel(token: LinkToken, request: Request, db: DbWriteSession) -> Response:
    """Counts an open, answers an image one pixel wide (never cached, so each open loads it).
    Not rate limited: the token is checked before anything is read."""
    settings = server_settings(request)
    found = EmailLinks.of(settings).read_open(token)
    campaigns, message = await _message_of(db, found, settings)
    await campaigns.opened(message)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@pages.get(CLICK_PATH + "{token}")
@shown_as_page("Email")
async def follow_link(
    token: LinkToken,
    request: Request,
    db: DbWriteSession,
    url: Annotated[str, Query(max_length=8000)] = "",
) -> Response:
    """Counts a click and redirects to the link's address, which the token signs."""
    settings = server_settings(request)
    found = EmailLinks.of(settings).read_click(token, url)
    campaigns, message = await _message_of(db, found, settings)
    await campaigns.clicked(message, url)
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)
