"""The few pages people reach from an email without logging in (a confirmation link, an
unsubscribe link): plain HTML, no script, answered in the workspace's name."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from html import escape
from typing import ParamSpec, TypeVar

from fastapi import Response
from fastapi.responses import HTMLResponse

from rapport.kit.errors import AppError

P = ParamSpec("P")
R = TypeVar("R", bound=Response)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
color:#1f2933}}button{{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;
background:#1f6feb;color:#fff;cursor:pointer}}small{{color:#616e7c}}</style>
</head><body><main><h1>{title}</h1><p>{message}</p>{form}</main>
<footer><small>{footer}</small></footer></body></html>"""


def page(
    title: str,
    message: str,
    *,
    button: str | None = None,
    footer: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """A page saying `message`; with `button`, a form posting back to the same address (the
    link's action happens on that POST, never on the GET a mail scanner may send)."""
    form = (
        f'<form method="post"><button type="submit">{escape(button)}</button></form>'
        if button
        else ""
    )
    html = _PAGE.format(
        title=escape(title), message=escape(message), form=form, footer=escape(footer)
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def shown_as_page(
    title: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R | HTMLResponse]]]:
    """A page route whose refusals (a link altered or expired, too many requests) are
    pages too, with their status, not the API's JSON errors."""

    def wrap(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | HTMLResponse]]:
        @functools.wraps(route)
        async def shown(*args: P.args, **kwargs: P.kwargs) -> R | HTMLResponse:
            try:
                return await route(*args, **kwargs)
            except AppError as exc:
                response = page(title, exc.message, status_code=exc.status_code)
                response.headers.update(exc.headers)
                return response

        return shown

    return wrap
