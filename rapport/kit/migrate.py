"""Schema migrations (Alembic), run by `rapport migrate`, on first start, and by the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.kit.db import Database, refresh_planner_statistics

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


@asynccontextmanager
async def migration_connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection to migrate on, committed at the end. On SQLite, foreign keys are off
    meanwhile: batch mode rebuilds a table by dropping it, and with foreign keys on that drop
    deletes (ON DELETE CASCADE) or clears (SET NULL) the rows of other tables referring to
    it."""
    sqlite = database.dialect == "sqlite"
    async with database.engine.connect() as connection:
        if sqlite:  # before any transaction: SQLite ignores it inside one
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            yield connection
            await connection.commit()
        finally:
            if sqlite:  # the connection goes back to the pool as it came
                await connection.rollback()
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _upgrade(connection: Connection, url: str, secret_key: str | None) -> None:
    config = alembic_config(url)
    config.attributes.update(connection=connection, secret_key=secret_key)
    command.upgrade(config, "head")


async def upgrade(database: Database, *, secret_key: str | None = None) -> None:
    """Bring the schema to the latest revision (idempotent). Migrations that encrypt stored
    secrets need the app's `secret_key` when there are secrets to encrypt, and fail saying so
    without it."""
    if database.dialect == "sqlite":
        path = database.engine.url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    async with migration_connection(database) as connection:
        await connection.run_sync(_upgrade, database.url, secret_key)
        await refresh_planner_statistics(connection)
