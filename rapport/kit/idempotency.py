"""`Idempotency-Key` on POST: the same key and request within 24 h replays the first response.

The authenticator calls `check()` once it knows who is calling, so a record is scoped to the
caller and its workspace and no unauthenticated request touches the store. A new key is
claimed on the request; `UnitOfWorkRoute` then stores the response in the same transaction
as the work it describes, so a committed change always has its replay and a rolled-back one
never does. Two concurrent requests with one key race to commit; the loser's work is undone
and it answers with the winner's response. Domain refusals (400, 404, 409, 412, 422) are
remembered too; answers about the credential or the moment (401, 403, 408, 429, 5xx) are not,
so a retry runs afresh. Secrets shown once (API keys, webhook secrets) are not kept: a replay
shows `[shown once]` in their place.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.kit.deferred import insert_at_commit
from rapport.kit.errors import (
    AppError,
    ErrorDetail,
    InvalidRequest,
    error_response,
    validation_error_response,
)
from rapport.kit.idempotency_record import IdempotencyRecord
from rapport.kit.ids import new_id

TTL = timedelta(hours=24)
HEADER = "idempotency-key"
_REMEMBERED_REFUSALS = {400, 404, 409, 412, 422}
_NOT_REPLAYED_HEADERS = {"x-request-id", "content-length", "date", "server"}
_SECRET_PREFIXES = ("ak_", "whsec_")
_SHOWN_ONCE = "[shown once]"


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
    fingerprint: str
    tenant_id: uuid.UUID


class Replay(Exception):
    """Answer with a response stored earlier."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("replay")
        # Copied now: the session that loaded the record is rolled back before the answer.
        self.status_code = record.status_code
        self.headers = dict(record.response_headers or {})
        self.body = record.response_body or b""

    def response(self) -> Response:
        return Response(
            self.body,
            status_code=self.status_code,
            headers={**self.headers, "Idempotent-Replayed": "true"},
        )


class KeyReused(AppError):
    status_code = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was used with a different request"


async def check(request: Request, session: AsyncSession, scope: str, tenant_id: uuid.UUID) -> None:
    """On a POST with `Idempotency-Key`: replay (raise `Replay`), refuse a reused key (422), or
    claim the key for this request."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return
    if not 1 <= len(key) <= 255:
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 255 characters",
            details=[ErrorDetail(field="Idempotency-Key", message="1 to 255 characters")],
        )
    fingerprint = await _fingerprint(request)
    store = IdempotencyStore(session)
    record = await store.find(scope, key)
    if record is not None and record.expires_at <= utcnow():
        await store.forget(record)
        record = None
    if record is not None:
        if record.request_hash != fingerprint:
            raise KeyReused()
        raise Replay(record)
    request.state.idempotency = Claim(scope, key, fingerprint, tenant_id)


async def _fingerprint(request: Request) -> str:
    """What makes two requests the same: the path, the query and the body; of an upload
    (multipart/form-data, whose stream the form was read from), each part by name, with a
    file's name and content."""
    digest = hashlib.sha256(request.url.path.encode() + b"\n" + request.url.query.encode())
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        digest.update(b"\n" + await request.body())
        return digest.hexdigest()
    for name, value in (await request.form()).multi_items():
        digest.update(b"\n" + name.encode() + b"=")
        if isinstance(value, str):
            digest.update(value.encode())
            continue
        digest.update((value.filename or "").encode() + b":")
        while chunk := await value.read(1 << 20):
            digest.update(chunk)
        await value.seek(0)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, scope: str, key: str) -> IdempotencyRecord | None:
        stmt = select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
        record: IdempotencyRecord | None = (await self.session.execute(stmt)).scalars().first()
        return record

    async def forget(self, record: IdempotencyRecord) -> None:
        await self.session.delete(record)
        await self.session.flush()

    def remember(self, request: Request, response: Response) -> bool:
        """Add the response of a claimed request to the session; True if there was a claim."""
        claim: Claim | None = getattr(request.state, "idempotency", None)
        if claim is None or not _remembered(response.status_code):
            return False
        now = utcnow()
        row = {
            "id": new_id(),
            "tenant_id": claim.tenant_id,
            "scope": claim.scope,
            "key": claim.key,
            "request_hash": claim.fingerprint,
            "status_code": response.status_code,
            "response_headers": _replayable_headers(response),
            "response_body": _without_secrets(bytes(response.body)),
            "created_at": now,
            "expires_at": now + TTL,
        }
        insert_at_commit(self.session, IdempotencyRecord, row)
        return True

    @staticmethod
    def is_duplicate(exc: BaseException) -> bool:
        return isinstance(exc, IntegrityError) and "idempotency_records" in str(exc.orig)

    @staticmethod
    async def replay_winner(request: Request) -> Response:
        claim: Claim = request.state.idempotency
        database: Database = request.app.state.database
        async with database.transaction(workspace=claim.tenant_id) as session:
            record = await IdempotencyStore(session).find(claim.scope, claim.key)
        if record is None or record.request_hash != claim.fingerprint:
            raise KeyReused()
        return Replay(record).response()

    async def purge_expired(self) -> int:
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow())
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def remember_refusal(request: Request, exc: Exception) -> Replay | None:
    """Store the answer to a claimed request that was refused for what it asked. If a
    concurrent twin committed first (its success may be why this one was refused), the twin's
    answer is returned to be given instead."""
    claim: Claim | None = getattr(request.state, "idempotency", None)
    if claim is None:
        return None
    if isinstance(exc, AppError):
        response = error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)
    elif isinstance(exc, RequestValidationError):
        response = validation_error_response(exc)
    else:
        return None
    database: Database = request.app.state.database
    try:
        async with database.transaction(workspace=claim.tenant_id) as session:
            IdempotencyStore(session).remember(request, response)
    except IntegrityError:
        async with database.transaction(workspace=claim.tenant_id) as session:
            record = await IdempotencyStore(session).find(claim.scope, claim.key)
        if record is not None and record.request_hash == claim.fingerprint:
            return Replay(record)
    return None


def _remembered(status: int) -> bool:
    return 200 <= status < 300 or status in _REMEMBERED_REFUSALS


def _replayable_headers(response: Response) -> dict[str, str]:
    headers = {}
    for raw_name, raw_value in response.raw_headers:
        name = raw_name.decode("latin-1")
        lowered = name.lower()
        if lowered in _NOT_REPLAYED_HEADERS or lowered.startswith("x-ratelimit"):
            continue
        headers[name] = raw_value.decode("latin-1")
    return headers


def _without_secrets(body: bytes) -> bytes:
    if not any(prefix.encode() in body for prefix in _SECRET_PREFIXES):
        return body
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    return orjson.dumps(_redact(doc))


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str) and value.startswith(_SECRET_PREFIXES) and len(value) > 20:
        return _SHOWN_ONCE
    return value
