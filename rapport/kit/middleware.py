"""Pure ASGI middleware: request ids, access logs and the headers every response carries."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.kit.errors import ErrorDetail, error_response
from rapport.kit.ratelimit import RateLimitState
from rapport.kit.requestctx import new_request_id, set_request_id, set_tenant_id

access_log = logging.getLogger("rapport.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLarge(HTTPException):
    """An HTTPException, so it renders as the 413 envelope wherever it is raised."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body exceeds {limit} bytes")


class BodyTimeout(HTTPException):
    """An HTTPException, so it renders as the 408 envelope wherever it is raised."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The body did not arrive within {seconds:g} s")


class RequestContextMiddleware:
    """Gives each request an id (the caller's `X-Request-Id` when sane), echoes it, adds the
    rate-limit headers computed by the authenticator, refuses bodies over `max_body_bytes`
    (413; the first of `larger_bodies` whose pattern matches the path sets another limit) or
    not received within `body_timeout` seconds of the headers (408), closes the connection
    after a response given before the whole body came, and writes one access-log line: for
    every request, or for the fraction `access_log_sample` of them (those lines say `sample`)
    and always for server errors and requests slower than `slow_seconds`."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout: float,
        access_log_sample: float = 1.0,
        slow_seconds: float = 1.0,
        larger_bodies: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.larger_bodies = tuple(larger_bodies)
        self.body_timeout = body_timeout
        self.access_log_sample = access_log_sample
        self.slow_seconds = slow_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        declared_length = 0
        chunked = False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _SAFE_REQUEST_ID.match(candidate):
                    request_id = candidate
            elif name == b"content-length" and value.isdigit():
                declared_length = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        request_id = request_id or new_request_id()
        set_request_id(request_id)
        set_tenant_id("")
        state = scope.setdefault("state", {})
        status = 500
        started_response = False
        received = 0
        body_deadline = asyncio.get_running_loop().time() + self.body_timeout
        max_body_bytes = self.body_limit(scope["path"])
        body_done = declared_length == 0 and not chunked

        async def counting_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # Past the body, receive() waits for the client to disconnect: no deadline.
                return await receive()
            try:
                async with asyncio.timeout_at(body_deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.body_timeout) from None
            body_done = message["type"] != "http.request" or not message.get("more_body")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body_bytes:
                    raise BodyTooLarge(max_body_bytes)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                if not body_done:
                    # Answered without the rest of the body: close rather than keep waiting
                    # for it, however slowly it comes.
                    headers["Connection"] = "close"
                limit: RateLimitState | None = state.get("rate_limit")
                if limit is not None and "x-ratelimit-limit" not in headers:
                    for key, value in limit.headers().items():
                        headers[key] = value
            await send(message)

        if _has_nul(scope):
            response = error_response(
                400, "INVALID_REQUEST", "NUL characters are not allowed in the URL"
            )
            await response(scope, receive, send_with_headers)
            return
        try:
            if declared_length > max_body_bytes:
                raise BodyTooLarge(max_body_bytes)
            await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge:
            if started_response:
                raise
            response = error_response(
                413,
                "PAYLOAD_TOO_LARGE",
                f"The body exceeds {max_body_bytes} bytes",
                details=[ErrorDetail(field="body", message="Too large")],
            )
            await response(scope, receive, send_with_headers)
        finally:
            self._log_access(scope, status, time.perf_counter() - started)

    def body_limit(self, path: str) -> int:
        for pattern, limit in self.larger_bodies:
            if pattern.search(path):
                return limit
        return self.max_body_bytes

    def _log_access(self, scope: Scope, status: int, seconds: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        fields = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "durationMs": round(seconds * 1000, 2),
        }
        if status < 500 and seconds < self.slow_seconds and self.access_log_sample < 1:
            if random.random() >= self.access_log_sample:
                return
            fields["sample"] = self.access_log_sample
        access_log.info("%s %s %s", scope["method"], scope["path"], status, extra=fields)


def _has_nul(scope: Scope) -> bool:
    return "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
