"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

import rapport.models  # noqa: F401
from rapport.kit.db import Base, Database
from rapport.kit.migrate import upgrade

# Indexes that exist only in migrations: the PostgreSQL trigram index for substring search,
# which the models cannot declare for one database only.
MIGRATION_ONLY = re.compile(r"^ix_contacts_search_trgm$")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if not (diff[0] == "remove_index" and MIGRATION_ONLY.match(diff[1].name or ""))
    ]


async def test_migrated_schema_matches_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_upgrade_is_idempotent(database: Database) -> None:
    await upgrade(database)
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
