"""Test helpers: workspaces with keys, snapshots proving a refused request changed nothing,
and migrations to a given revision with rows written as its schema stores them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from rapport.app import create_app
from rapport.auth.scopes import ALL_SCOPES
from rapport.auth.service import ApiKeyService
from rapport.config import Settings
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Base, Database, JSONType, UTCDateTime
from rapport.kit.migrate import alembic_config, migration_connection
from rapport.models import MembershipRole
from rapport.tenancy.service import WorkspaceService

EVERY_WORKSPACE = "tests read and write every workspace"
"""Why test code opens platform-wide sessions (see `rapport.kit.tenant_guard`)."""


TEST_SECRET = "test-secret-" + "x" * 40

VOLATILE_COLUMNS = {"last_used_at", "last_login_at"}


@dataclass
class Workspace:
    id: uuid.UUID
    key: str
    key_id: uuid.UUID
    headers: dict[str, str] = field(default_factory=dict)


FREE_PROPERTIES = {"allowFreeProperties": True}


async def make_workspace(
    database: Database,
    name: str = "Acme",
    scopes: frozenset[str] = ALL_SCOPES,
    settings: dict[str, Any] | None = None,
) -> Workspace:
    """A workspace with an API key. Its settings default to FREE_PROPERTIES: most tests write
    `properties` without defining them first; tests of property rules pass `settings={}`."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        tenant = await WorkspaceService(session).create(name)
        tenant.settings = dict(FREE_PROPERTIES if settings is None else settings)
        key, secret = await ApiKeyService(Context.bound(session, tenant.id)).create(
            "test", sorted(scopes)
        )
    return Workspace(tenant.id, secret, key.id, {"Authorization": f"Bearer {secret}"})


async def add_key(
    database: Database, workspace: Workspace | uuid.UUID, scopes: list[str]
) -> dict[str, str]:
    """Headers with a new key of the workspace (or of the workspace with this id)."""
    workspace_id = workspace.id if isinstance(workspace, Workspace) else workspace
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        _key, secret = await ApiKeyService(Context.bound(session, workspace_id)).create(
            "extra", scopes
        )
    return {"Authorization": f"Bearer {secret}"}


async def key_of_user(database: Database, ws: Workspace, user_id: uuid.UUID) -> dict[str, str]:
    """Headers with a key created by the user (the user `me` means)."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        _key, secret = await ApiKeyService(
            Context.bound(session, ws.id), creator_user_id=user_id
        ).create("mine", ["crm:read", "crm:write"])
    return {"Authorization": f"Bearer {secret}"}


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (minus usage timestamps), to compare before and after."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    async with database.session(platform=EVERY_WORKSPACE) as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
            rows = (await session.execute(select(*columns))).all()
            state[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return state


async def truncate(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        if database.dialect == "postgresql":
            await session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in tables:
                await session.execute(text(f"DELETE FROM {name}"))


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    overrides.setdefault("embedded_worker", False)
    return Settings(data_dir=tmp_path, secret_key=TEST_SECRET, **overrides)


@asynccontextmanager
async def custom_client(
    database: Database, tmp_path: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with other settings over the test's database."""
    app = create_app(make_settings(tmp_path, **overrides), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error body, after checking status, code, and that it names the request id."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["requestId"] == response.headers["X-Request-Id"]
    return error


async def events_of_type(
    client: httpx.AsyncClient, ws: Workspace, event_type: str
) -> list[dict[str, Any]]:
    """The workspace's events of one type (or family), newest first."""
    response = await client.get("/api/v1/events", params={"type": event_type}, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def add_member(
    database: Database, ws: Workspace, email: str, role: MembershipRole = MembershipRole.MEMBER
) -> uuid.UUID:
    """A user of the workspace (named after the email's local part)."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        user = await WorkspaceService(session).add_user(
            ws.id, email, "correct-horse-battery", name=email.split("@")[0], role=role
        )
    return user.id


async def migrate(
    database: Database, revision: str, *, down: bool = False, secret_key: str | None = None
) -> None:
    """Upgrade (or downgrade) to `revision` as `rapport migrate` runs migrations."""

    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes.update(connection=connection, secret_key=secret_key)
        (command.downgrade if down else command.upgrade)(config, revision)

    async with migration_connection(database) as connection:
        await connection.run_sync(run)


_TYPES: dict[type, Any] = {
    uuid.UUID: sa.Uuid(),
    datetime: UTCDateTime(),
    dict: JSONType,
    list: JSONType,
}


async def old_workspace(database: Database) -> uuid.UUID:
    """A workspace row written by hand, in a database migrated to an older revision (creating
    one through the service would run today's set-up, on tables that are not there yet)."""
    tenant_id, now = uuid.uuid4(), utcnow()
    await insert(
        database, "tenants", id=tenant_id, name="Acme", settings={}, created_at=now, updated_at=now
    )
    return tenant_id


async def insert(database: Database, table: str, **values: Any) -> None:
    """A row written as the schema of the moment stores it (the models may be newer)."""
    columns = [sa.column(name, _TYPES.get(type(value))) for name, value in values.items()]
    async with database.engine.begin() as connection:
        await connection.execute(sa.insert(sa.table(table, *columns)).values(**values))
