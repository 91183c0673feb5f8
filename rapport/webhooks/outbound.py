"""Outbound HTTP for webhooks: where a URL may point, and the signed POST.

A webhook URL is checked when it is saved and again at every delivery, because what a name
resolves to can change; its host's addresses are judged by the shared guard
(`rapport.kit.netguard`). The delivery then connects to the address that was checked (the
request carries the original Host header and TLS server name), so a name cannot resolve to a
public address for the check and a private one for the connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urlsplit

import httpx

from rapport import __version__
from rapport.kit import netguard
from rapport.kit.clock import utcnow
from rapport.kit.netguard import IPAddress
from rapport.kit.normalize import is_host_name
from rapport.webhooks.signing import signature

CONNECT_TIMEOUT_SECONDS = 5.0
TOTAL_TIMEOUT_SECONDS = 10.0
RESPONSE_EXCERPT_BYTES = 1024
USER_AGENT = f"Rapport-Webhooks/{__version__}"


class UnsafeUrl(Exception):
    """The URL may not be called; the message says why, for the API caller."""


_DEVELOPMENT = (
    "in development, a server started with RAPPORT_ALLOW_PRIVATE_WEBHOOKS=1 also reaches "
    "loopback and private addresses over plain http"
)


def parse_url(url: str, *, allow_private: bool) -> SplitResult:
    """The URL's parts if it is a URL webhooks may use, else UnsafeUrl."""
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise UnsafeUrl("Spaces and control characters are not allowed in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise UnsafeUrl(f"Not a valid URL: {exc}") from exc
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrl(
            f"Must be an https:// URL ({_DEVELOPMENT})"
            if not allow_private
            else "Must be an http:// or https:// URL"
        )
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host")
    if not is_host_name(parts.hostname):
        raise UnsafeUrl("Not a valid host name: each part between dots is 1 to 63 characters")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Credentials in the URL are not supported; verify the signature instead")
    if port == 0:
        raise UnsafeUrl("Port 0 is not a valid port")
    return parts


async def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to; UnsafeUrl if the name does not resolve or any address it
    resolves to is loopback, private, link-local or otherwise not public (`kit.netguard`)."""
    try:
        return await netguard.resolve(host, port, allow_private=allow_private)
    except netguard.Unresolvable as exc:
        raise UnsafeUrl(str(exc)) from exc
    except netguard.OffLimits as exc:
        raise UnsafeUrl(f"{exc}; webhooks only reach public addresses ({_DEVELOPMENT})") from exc


async def check_url(url: str, *, allow_private: bool) -> None:
    parts = parse_url(url, allow_private=allow_private)
    assert parts.hostname is not None
    await resolve(parts.hostname, _port(parts), allow_private=allow_private)


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status: int | None
    latency_ms: int
    error: str | None = None
    body: str | None = None
    retry_after: float | None = None
    refused: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Server errors, timeouts, network failures, 408 and 429 are retried; other 4xx and
        redirects (which are not followed) are the receiver's final answer."""
        if self.refused:
            return False
        if self.status is None:
            return True
        return self.status >= 500 or self.status in (408, 429)


class ClientPool:
    """One HTTP client per destination host, so kept-alive connections are reused for that
    host only (connections go to a checked address, which hosts may share)."""

    MAX_CLIENTS = 256

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def client(self, scheme: str, host: str) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # clients belong to the loop they were made on
            self._clients = {}
            self._loop = loop
        key = (scheme, host)
        client = self._clients.pop(key, None)
        if client is None:
            if len(self._clients) >= self.MAX_CLIENTS:
                oldest = next(iter(self._clients))
                await self._clients.pop(oldest).aclose()
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(TOTAL_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
                follow_redirects=False,
                trust_env=False,
            )
        self._clients[key] = client  # most recently used last
        return client


CLIENTS = ClientPool()


async def post_event(
    url: str,
    secret: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
) -> Outcome:
    """POST a signed body and report what came back; never raises for the receiver's sake."""
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout(TOTAL_TIMEOUT_SECONDS):
            parts = parse_url(url, allow_private=allow_private)
            host = parts.hostname
            assert host is not None
            addresses = await resolve(host, _port(parts), allow_private=allow_private)
            timestamp = int(time.time())
            request_headers = {
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Host": parts.netloc,
                "Rapport-Timestamp": str(timestamp),
                "Rapport-Signature": signature(secret, timestamp, body),
            }
            extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
            pinned = httpx.URL(url).copy_with(host=str(addresses[0]))
            client = await CLIENTS.client(parts.scheme, host)
            request = client.build_request(
                "POST", pinned, content=body, headers=request_headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                excerpt = await _excerpt(response)
            finally:
                await response.aclose()
    except UnsafeUrl as exc:
        return Outcome(None, elapsed(), str(exc), refused=True)
    except TimeoutError:
        return Outcome(None, elapsed(), f"No answer within {TOTAL_TIMEOUT_SECONDS:g} s")
    except httpx.TimeoutException as exc:
        return Outcome(None, elapsed(), f"Timed out: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return Outcome(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500])
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        error = f"HTTP {response.status_code}: redirects are not followed"
    return Outcome(
        response.status_code,
        elapsed(),
        error,
        excerpt,
        _retry_after(response.headers.get("Retry-After")),
    )


async def _excerpt(response: httpx.Response) -> str:
    collected = b""
    async for chunk in response.aiter_bytes():
        collected += chunk
        if len(collected) >= RESPONSE_EXCERPT_BYTES:
            break
    return collected[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())
