"""Test helpers: workspaces with keys, and snapshots proving a refused request changed nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text

from rapport.auth.scopes import ALL_SCOPES
from rapport.auth.service import ApiKeyService
from rapport.kit.db import Base, Database
from rapport.tenancy.service import WorkspaceService

VOLATILE_COLUMNS = {"last_used_at", "last_login_at"}


@dataclass
class Workspace:
    id: uuid.UUID
    key: str
    key_id: uuid.UUID
    headers: dict[str, str] = field(default_factory=dict)


async def make_workspace(
    database: Database, name: str = "Acme", scopes: frozenset[str] = ALL_SCOPES
) -> Workspace:
    async with database.transaction() as session:
        tenant = await WorkspaceService(session).create(name)
        key, secret = await ApiKeyService(session, tenant.id).create("test", sorted(scopes))
    return Workspace(tenant.id, secret, key.id, {"Authorization": f"Bearer {secret}"})


async def add_key(database: Database, workspace: Workspace, scopes: list[str]) -> dict[str, str]:
    async with database.transaction() as session:
        _key, secret = await ApiKeyService(session, workspace.id).create("extra", scopes)
    return {"Authorization": f"Bearer {secret}"}


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (minus usage timestamps), to compare before and after."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    async with database.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
            rows = (await session.execute(select(*columns))).all()
            state[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return state


async def truncate(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.transaction() as session:
        if database.dialect == "postgresql":
            await session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in tables:
                await session.execute(text(f"DELETE FROM {name}"))
