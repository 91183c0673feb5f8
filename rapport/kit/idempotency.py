"""`Idempotency-Key` on POST: the same key and body within 24 h replays the first response.

Records are keyed by a hash of the credential (the Authorization header), so they exist before
authentication runs and two credentials never collide. A different body under a used key is 422
IDEMPOTENCY_KEY_REUSED; a retry while the first attempt still runs is 409
IDEMPOTENCY_KEY_IN_PROGRESS. Responses that say nothing about the request itself (401, 403,
408, 429, 5xx) release the key so the client can try again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.kit.errors import error_response
from rapport.models import IdempotencyRecord

TTL = timedelta(hours=24)
IN_PROGRESS_TIMEOUT = timedelta(minutes=2)
_RELEASED_STATUSES = {401, 403, 408, 429}
_NOT_REPLAYED_HEADERS = {"x-request-id", "content-length", "date", "server"}


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ours to run, or an earlier record."""

    record: IdempotencyRecord | None

    @property
    def is_new(self) -> bool:
        return self.record is None


class IdempotencyStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def claim(self, credential_hash: str, key: str, request_hash: str) -> Claim:
        now = utcnow()
        async with self.database.transaction() as session:
            existing = (
                (
                    await session.execute(
                        select(IdempotencyRecord).where(
                            IdempotencyRecord.credential_hash == credential_hash,
                            IdempotencyRecord.key == key,
                        )
                    )
                )
                .scalars()
                .first()
            )
            stale = existing is not None and (
                existing.expires_at <= now
                or (
                    existing.status_code is None
                    and existing.created_at <= now - IN_PROGRESS_TIMEOUT
                )
            )
            if existing is not None and not stale:
                return Claim(existing)
            if existing is not None:
                await session.delete(existing)
                await session.flush()
        try:
            async with self.database.transaction() as session:
                session.add(
                    IdempotencyRecord(
                        credential_hash=credential_hash,
                        key=key,
                        request_hash=request_hash,
                        created_at=now,
                        expires_at=now + TTL,
                    )
                )
        except IntegrityError:
            return await self.claim(credential_hash, key, request_hash)
        return Claim(None)

    async def complete(
        self, credential_hash: str, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.credential_hash == credential_hash,
                    IdempotencyRecord.key == key,
                )
                .values(status_code=status, response_headers=headers, response_body=body)
            )

    async def release(self, credential_hash: str, key: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.credential_hash == credential_hash,
                    IdempotencyRecord.key == key,
                )
            )

    async def purge_expired(self) -> int:
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow())
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        authorization = _header(scope, b"authorization")
        if key is None or not authorization:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            response = error_response(
                400, "INVALID_REQUEST", "Idempotency-Key must be 1 to 255 characters"
            )
            await response(scope, receive, send)
            return
        body, more_body_messages = await _read_body(receive)
        credential_hash = hashlib.sha256(authorization.encode()).hexdigest()
        fingerprint = hashlib.sha256(
            b"\n".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        store = IdempotencyStore(scope["app"].state.database)
        claim = await store.claim(credential_hash, key, fingerprint)
        if not claim.is_new:
            await _answer_from_record(claim.record, fingerprint, scope, receive, send)
            return
        replay_messages: list[Message] = [
            {"type": "http.request", "body": body, "more_body": False}
        ]
        replay_messages.extend(more_body_messages)

        async def replay_receive() -> Message:
            if replay_messages:
                return replay_messages.pop(0)
            return await receive()

        captured = _CapturedResponse()

        async def capture_send(message: Message) -> None:
            captured.record(message)
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await store.release(credential_hash, key)
            raise
        if captured.status >= 500 or captured.status in _RELEASED_STATUSES:
            await store.release(credential_hash, key)
            return
        await store.complete(
            credential_hash,
            key,
            captured.status,
            captured.replayable_headers(),
            bytes(captured.body),
        )


class _CapturedResponse:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    def record(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    def replayable_headers(self) -> dict[str, str]:
        headers = {}
        for raw_name, raw_value in self.headers:
            name = raw_name.decode("latin-1")
            if name.lower() in _NOT_REPLAYED_HEADERS or name.lower().startswith("x-ratelimit"):
                continue
            headers[name] = raw_value.decode("latin-1")
        return headers


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), []


async def _answer_from_record(
    record: IdempotencyRecord | None, fingerprint: str, scope: Scope, receive: Receive, send: Send
) -> None:
    assert record is not None
    response: Response
    if record.request_hash != fingerprint:
        response = error_response(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different request",
        )
    elif record.status_code is None:
        response = error_response(
            409,
            "IDEMPOTENCY_KEY_IN_PROGRESS",
            "A request with this Idempotency-Key is still running; retry shortly",
            headers={"Retry-After": "1"},
        )
    else:
        response = Response(
            record.response_body or b"",
            status_code=record.status_code,
            headers={**(record.response_headers or {}), "Idempotent-Replayed": "true"},
        )
    await response(scope, receive, send)
