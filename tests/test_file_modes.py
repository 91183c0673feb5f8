"""What Rapport writes to disk on its own is readable by its owner only: the data directory,
the SQLite database with its write-ahead log and shared-memory index, the generated secret
key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from rapport.config import Settings
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from tests.helpers import make_workspace


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of most systems, under which files are created readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = data / "rapport.db"
    database = Database(Settings(data_dir=data).resolved_database_url)
    try:
        await upgrade(database)
        await make_workspace(database)  # a write: the write-ahead log is in use
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
        assert mode(data) == 0o700
    finally:
        await database.dispose()


def test_the_generated_secret_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = Settings(data_dir=data).resolved_secret_key()

    assert mode(data / "secret.key") == 0o600
    assert mode(data) == 0o700
    assert Settings(data_dir=data).resolved_secret_key() == key
