"""The application factory: builds the FastAPI app and mounts every router."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from rapport import __version__
from rapport.apidocs import routes as apidocs
from rapport.auth.dependencies import KeyCache, requires_credentials
from rapport.config import Settings
from rapport.domains import DOMAINS, TASK_MODULES, install
from rapport.health.routes import router as health_router
from rapport.imports.routes import UPLOAD_PATH
from rapport.kit.batch import BATCH_PATH
from rapport.kit.db import Database
from rapport.kit.errors import install_error_handlers
from rapport.kit.idempotency import Replay
from rapport.kit.logging import configure_logging, flush_logs
from rapport.kit.middleware import RequestContextMiddleware
from rapport.kit.openapi import install_openapi
from rapport.kit.ratelimit import RateLimiter
from rapport.worker.loop import Worker

API_PREFIX = "/api/v1"

DESCRIPTION = """
Rapport is a self-hosted, multi-tenant CRM and marketing-automation platform.

**Auth**: `Authorization: Bearer ak_...` (an API key, bound to one workspace) or a session token
from `POST /api/v1/auth/login` together with `X-Tenant-Id`.
**Envelope**: `{"data": ...}`, lists add `meta`; errors are `{"error": {code, message,
requestId, details}}`. **Pagination**: `skip`/`take`, `page`/`limit`, `page`/`pageSize` or
`cursor`. **Safety**: `Idempotency-Key` on POST, `ETag` / `If-Match` on single records.
"""


async def _replay(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    return exc.response()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    owns_database = database is None
    db = database or Database(
        settings.resolved_database_url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker = None
        if settings.runs_embedded_worker:
            worker = asyncio.create_task(
                Worker(
                    db,
                    lease_seconds=settings.worker_lease_seconds,
                    task_modules=(*TASK_MODULES, *settings.worker_task_modules),
                    settings=settings,
                ).run(stop)
            )
        yield
        stop.set()
        if worker is not None:
            await worker
        if owns_database:
            await db.dispose()
        flush_logs()

    app = FastAPI(
        title="Rapport API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # /docs and /redoc are rapport.apidocs: Swagger UI and ReDoc served without a CDN.
        docs_url=None,
        redoc_url=None,
        # /api/v1/tasks/ is no route: 404, not a redirect a client may follow with its body.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.database = db
    reset_memory(app)

    install_error_handlers(app)
    app.add_exception_handler(Replay, _replay)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        larger_bodies=[
            (BATCH_PATH, settings.max_batch_body_bytes),
            (UPLOAD_PATH, settings.max_import_bytes),
        ],
        body_timeout=settings.body_timeout_seconds,
        access_log_sample=settings.access_log_sample,
        slow_seconds=settings.access_log_slow_seconds,
    )
    if settings.trusted_proxies:
        # Outermost: the client address every layer sees (rate limits of logins among them)
        # is the one a trusted proxy forwarded.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    install()
    for router in (r for domain in DOMAINS for r in domain.routers):
        # Straight into the app: through an intermediate router FastAPI analyses every route
        # twice, which doubles the cost of building an app.
        app.include_router(router, prefix=API_PREFIX)
    for pages in (p for domain in DOMAINS for p in domain.pages):
        app.include_router(pages)
    app.include_router(health_router)
    app.include_router(apidocs.router)
    app.mount(apidocs.STATIC_URL, apidocs.static_files(), name="docs-static")
    install_openapi(app, API_PREFIX, requires_credentials)
    return app


def serve_app() -> FastAPI:
    """The factory `rapport serve` gives uvicorn: each server process logs as configured."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json, settings.log_flush_seconds)
    return create_app(settings)


def reset_memory(app: FastAPI) -> None:
    """Start the app's in-memory state afresh: rate limit counters and cached API keys."""
    settings: Settings = app.state.settings
    app.state.rate_limiter = RateLimiter(settings.rate_limits, settings.redis_url)
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
