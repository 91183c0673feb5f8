"""The page a double opt-in link opens: GET shows a button, POST confirms (a mail scanner
fetching the link confirms nothing)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse

from rapport.auth.dependencies import count_anonymous
from rapport.consent.deps import link_context, settings_of
from rapport.consent.links import CONFIRM_PATH, EmailLinks
from rapport.consent.service import ConsentService
from rapport.kit.clock import utcnow
from rapport.kit.pages import page, shown_as_page
from rapport.kit.session import DbSession, api_router

pages = api_router(include_in_schema=False)

Token = Annotated[str, Path(max_length=200)]
_TITLE = "Confirm your subscription"


@pages.get(CONFIRM_PATH + "{token}")
@shown_as_page(_TITLE)
async def confirmation_page(token: Token, request: Request, db: DbSession) -> HTMLResponse:
    await _service(token, request, db)
    return page(_TITLE, "Click below to confirm that you want our emails.", button="Confirm")


@pages.post(CONFIRM_PATH + "{token}")
@shown_as_page(_TITLE)
async def confirm_subscription(token: Token, request: Request, db: DbSession) -> HTMLResponse:
    consent, contact_id = await _service(token, request, db)
    client = request.client.host if request.client else None
    if not await consent.confirm(contact_id, client, request.headers.get("user-agent")):
        return page(_TITLE, "This subscription no longer exists.", status_code=404)
    return page("Subscription confirmed", "Thank you: you will receive our emails.")


async def _service(token: str, request: Request, db: DbSession) -> tuple[ConsentService, uuid.UUID]:
    await count_anonymous(request, "read")
    settings = settings_of(request)
    found = EmailLinks.of(settings).read_confirmation(token, utcnow())
    context = await link_context(db, found.tenant_id)
    return ConsentService(context, settings), found.subject_id
