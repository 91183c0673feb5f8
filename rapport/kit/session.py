"""The request's unit of work: one session per request, committed once, before the response
is sent, by the route class every API router uses.

The session is created on first use by the `DbSession` dependency. `UnitOfWorkRoute` wraps the
endpoint: on success it stores the idempotent response (if the request carried an
`Idempotency-Key`) in the same transaction and commits; on error it rolls back. Callbacks
registered with `after_commit` run once the commit succeeded (cache invalidation and the like).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from rapport.kit.db import Database
from rapport.kit.idempotency import IdempotencyStore, Replay, remember_refusal


@dataclass
class UnitOfWork:
    session: AsyncSession | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def _unit_of_work(request: Request) -> UnitOfWork:
    unit: UnitOfWork | None = getattr(request.state, "unit_of_work", None)
    if unit is None:
        raise RuntimeError(f"{request.url.path}: the router must use UnitOfWorkRoute")
    return unit


async def _request_session(request: Request) -> AsyncSession:
    """Async although it awaits nothing: FastAPI runs a sync dependency in its thread pool,
    a thread hop per request for no work."""
    return _session_of(request, writes=request.method not in ("GET", "HEAD"))


async def _request_write_session(request: Request) -> AsyncSession:
    return _session_of(request, writes=True)


def _session_of(request: Request, *, writes: bool) -> AsyncSession:
    unit = _unit_of_work(request)
    if unit.session is None:
        database: Database = request.app.state.database
        unit.session = (database.sessionmaker if writes else database.reader)()
    return unit.session


DbSession = Annotated[AsyncSession, Depends(_request_session)]
"""The request's session: in a transaction, except for GET and HEAD (on PostgreSQL a read
skips BEGIN and COMMIT)."""
DbWriteSession = Annotated[AsyncSession, Depends(_request_write_session)]
"""The request's session in a transaction whatever the method: for a GET that writes (an
email's open pixel, a tracked link)."""


def after_commit(request: Request, callback: Callable[[], None]) -> None:
    _unit_of_work(request).after_commit.append(callback)


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()

        async def run(request: Request) -> Response:
            if "{" in self.path and request.url.path in _literal_paths(request.app):
                # `/companies/search` is its own resource, not `/companies/{ref}` with "search".
                raise StarletteHTTPException(status_code=405)
            unit = UnitOfWork()
            request.state.unit_of_work = unit
            try:
                response = await endpoint(request)
            except Replay:
                await _close(unit, commit=False)
                raise
            except Exception as exc:
                await _close(unit, commit=False)
                twin = await remember_refusal(request, exc)
                if twin is not None:
                    raise twin from exc
                raise
            except BaseException:
                # Cancelled: still give the connection (and SQLite's write turn) back.
                await asyncio.shield(_close(unit, commit=False))
                raise
            replay = await _commit(request, unit, response)
            return replay or response

        return run


async def _commit(request: Request, unit: UnitOfWork, response: Response) -> Response | None:
    """Commit, storing the idempotent response first; if a concurrent twin of this request
    committed first, its response is returned instead (and this request's work is undone)."""
    if unit.session is None:
        return None
    store = IdempotencyStore(unit.session)
    claimed = False
    try:
        claimed = store.remember(request, response)
        await unit.session.commit()
    except Exception as exc:
        await _close(unit, commit=False)
        if claimed and store.is_duplicate(exc):
            return await IdempotencyStore.replay_winner(request)
        raise
    await unit.session.close()
    for callback in unit.after_commit:
        callback()
    return None


async def _close(unit: UnitOfWork, *, commit: bool) -> None:
    if unit.session is None:
        return
    try:
        if commit:
            await unit.session.commit()
        else:
            await unit.session.rollback()
    finally:
        await unit.session.close()


def _literal_paths(app: Any) -> frozenset[str]:
    """The app's paths without parameters (computed once per app)."""
    paths: frozenset[str] | None = getattr(app.state, "literal_paths", None)
    if paths is None:
        paths = frozenset(
            str(context.path)
            for context in iter_route_contexts(app.routes)
            if "{" not in str(context.path)
        )
        app.state.literal_paths = paths
    return paths


def api_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes run as units of work; every domain router is made here."""
    return APIRouter(
        route_class=UnitOfWorkRoute, generate_unique_id_function=operation_id, **kwargs
    )


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operationId: the endpoint's name in camelCase (`list_contacts` ->
    `listContacts`), short and stable for generated clients."""
    return to_camel(route.name)
