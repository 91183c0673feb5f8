"""The embedded SQLite driver: the standard library's sqlite3, called inline on the event loop.

A SQLite call on a local file takes microseconds; handing it to a worker thread (as aiosqlite
does) costs a thread wake-up and a loop wake-up per call, which made a one-row read several
times slower than the read itself. This dialect gives SQLAlchemy's asyncio layer sqlite3
behind trivial coroutines, so every call runs in place.

Blocking the loop is only safe if no call waits on a lock held by a transaction of this same
process that is parked at an `await`. SQLite admits one writer at a time anyway, so writes are
serialized here explicitly: the first writing statement of a transaction takes the engine's
asyncio lock (suspending, not blocking, while another transaction writes) and commit or
rollback releases it. Readers never wait (WAL). Other processes on the same file are waited
for with SQLite's busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import types
from typing import Any

from sqlalchemy import event, util
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util.concurrency import await_

LOCK_TIMEOUT_SECONDS = 30.0
_WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|ANALYZE)\b", re.IGNORECASE
)
_HOLDS_LOCK = "rapport_write_lock"


class _Cursor:
    """A sqlite3 cursor behind the awaitable cursor interface SQLAlchemy's adapter drives."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, operation: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq_of_parameters: Any) -> _Cursor:
        self._cursor.executemany(operation, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Connection:
    """A sqlite3 connection behind the awaitable connection interface."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.OperationalError("connection closed")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._open.isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self._open.in_transaction

    def cursor(self) -> _Cursor:
        return _Cursor(self._open.cursor())

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    async def commit(self) -> None:
        self._open.commit()

    async def rollback(self) -> None:
        self._open.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        level: str | None = self._connection.isolation_level
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value


def _driver_module() -> types.ModuleType:
    """What the adapter reads from its driver module: sqlite3's exceptions and versions."""
    module = types.ModuleType("rapport_inline_sqlite")
    for name in (
        "DatabaseError",
        "Error",
        "IntegrityError",
        "NotSupportedError",
        "OperationalError",
        "ProgrammingError",
        "sqlite_version",
        "sqlite_version_info",
    ):
        setattr(module, name, getattr(sqlite3, name))
    module.Connection = _Connection  # type: ignore[attr-defined]
    return module


def _create_private(database: str) -> None:
    """Create a missing database file readable by its owner only: SQLite would create it 0644
    (less the umask), and it gives the -wal and -shm files the database file's mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class _InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> _AdaptedConnection:
        kwargs.pop("async_creator_fn", None)
        kwargs["check_same_thread"] = False
        database = args[0] if args else kwargs.get("database", ":memory:")
        if database != ":memory:" and not kwargs.get("uri"):
            _create_private(database)
        connection: Any = _Connection(sqlite3.connect(*args, **kwargs))
        return _AdaptedConnection(self, connection)


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = "inline"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return _InlineDBAPI(_driver_module(), sqlite3)

    def retrieve_dbapi_version(self, dbapi: Any) -> util.VersionInfo:
        return util.parse_version_string(sqlite3.sqlite_version)


registry.register("sqlite.inline", "rapport.kit.sqlite", "InlineSQLiteDialect")


def serialize_writes(engine: Engine) -> None:
    """One writing transaction at a time in this process (see the module docstring)."""
    lock = asyncio.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(_HOLDS_LOCK) or not _WRITE.match(statement):
            return
        try:
            await_(asyncio.wait_for(lock.acquire(), LOCK_TIMEOUT_SECONDS))
        except TimeoutError as exc:
            raise sqlite3.OperationalError("database is locked (write queue timed out)") from exc
        conn.info[_HOLDS_LOCK] = True

    def _release(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_LOCK, False):
            lock.release()

    event.listen(engine, "commit", lambda conn: _release(conn.info))
    event.listen(engine, "rollback", lambda conn: _release(conn.info))
    # However a connection goes back to the pool, it gives the turn back.
    event.listen(engine.pool, "reset", lambda _dbapi, record, _state: _release(record.info))
    event.listen(engine.pool, "close", lambda _dbapi, record: _release(record.info))
