"""Fixtures: every test runs once on SQLite and once on a real PostgreSQL.

RAPPORT_TEST_DATABASES picks the backends (default `sqlite,postgres`). PostgreSQL is a
throwaway cluster started from the binaries on the machine, unless RAPPORT_TEST_POSTGRES_URL
points at a server (a fresh database is created on it either way).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from rapport.app import create_app, reset_memory
from rapport.domains import install
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from tests.helpers import Workspace, make_settings, make_workspace, truncate
from tests.mail.server import Certificate, make_certificate
from tests.pgcluster import PgCluster


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With RAPPORT_TEST_DATABASE_FREE=skip, leave out the tests that use no database (`./run
    test` runs one process per database, and those tests once)."""
    if os.environ.get("RAPPORT_TEST_DATABASE_FREE") != "skip":
        return
    kept = [item for item in items if "database" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


install()  # the event catalogue, before test modules read it at collection

BACKENDS = [
    b.strip() for b in os.environ.get("RAPPORT_TEST_DATABASES", "sqlite,postgres").split(",")
]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The asyncpg URL of a server database we may create databases from."""
    given = os.environ.get("RAPPORT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    cluster = PgCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


async def _fresh_postgres_database(server_url: str) -> str:
    name = "rapport_test_" + secrets.token_hex(4)
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def new_database_url(request: pytest.FixtureRequest, backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+inline:///{tmp / 'rapport.db'}"
    server = request.getfixturevalue("postgres_server")
    return await _fresh_postgres_database(server)


@pytest.fixture(scope="session", params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    url = await new_database_url(request, request.param, tmp_path_factory.mktemp(request.param))
    db = Database(url)
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def shared_app(database: Database, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app per database for the whole run: building one costs about a quarter of a second
    (FastAPI analyses every route), more than most tests."""
    return create_app(make_settings(tmp_path_factory.mktemp("app")), database=database)


@pytest.fixture
async def app(shared_app: FastAPI, database: Database) -> AsyncIterator[FastAPI]:
    """The shared app with its in-memory state (rate limit counters, cached keys) new, and an
    empty database after the test."""
    reset_memory(shared_app)
    yield shared_app
    await truncate(database)


@pytest.fixture
async def fresh_app(app: FastAPI, database: Database, tmp_path: Path) -> FastAPI:
    """An app of its own, for a test that adds routes to it."""
    return create_app(make_settings(tmp_path), database=database)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def workspace(database: Database, app: FastAPI) -> Workspace:
    return await make_workspace(database, "Acme")


@pytest.fixture
async def other_workspace(database: Database, app: FastAPI) -> Workspace:
    return await make_workspace(database, "Globex")


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """The certificate of the test SMTP servers (`tests.mail.server`)."""
    return make_certificate(tmp_path_factory.mktemp("smtp"))
