"""The page a double opt-in link opens: GET shows a button, POST confirms (a mail scanner
fetching the link confirms nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse

from rapport.auth.dependencies import count_anonymous, server_settings
from rapport.consent.deps import link_context
from rapport.consent.links import CONFIRM_PATH, EmailLinks, Token
from rapport.consent.service import Confirmation, ConsentService
from rapport.kit.clock import utcnow
from rapport.kit.pages import page, shown_as_page
from rapport.kit.session import DbSession, api_router

pages = api_router(include_in_schema=False)

TokenPath = Annotated[str, Path(description="The link's signed token")]
_TITLE = "Confirm your subscription"


@pages.get(CONFIRM_PATH + "{token}")
@shown_as_page(_TITLE)
async def confirmation_page(token: TokenPath, request: Request, db: DbSession) -> HTMLResponse:
    consent, found = await _service(token, request, db)
    if await consent.live(found.subject_id) is None:
        return page(_TITLE, "This subscription no longer exists.", status_code=404)
    return page(_TITLE, "Click below to confirm that you want our emails.", button="Confirm")


@pages.post(CONFIRM_PATH + "{token}")
@shown_as_page(_TITLE)
async def confirm_subscription(token: TokenPath, request: Request, db: DbSession) -> HTMLResponse:
    consent, found = await _service(token, request, db)
    client = request.client.host if request.client else None
    outcome = await consent.confirm(found, client, request.headers.get("user-agent"))
    if outcome == Confirmation.GONE:
        return page(_TITLE, "This subscription no longer exists.", status_code=404)
    if outcome == Confirmation.STALE:
        return page(
            _TITLE,
            "This link is no longer valid: the subscription changed since it was sent.",
            status_code=410,
        )
    return page("Subscription confirmed", "Thank you: you will receive our emails.")


async def _service(token: str, request: Request, db: DbSession) -> tuple[ConsentService, Token]:
    await count_anonymous(request, "read")
    settings = server_settings(request)
    found = EmailLinks.of(settings).read_confirmation(token, utcnow())
    context = await link_context(db, found.tenant_id)
    return ConsentService(context, settings), found
