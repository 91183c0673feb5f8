"""Fixtures of the list tests: a worker that runs the event consumers and jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.domains import TASK_MODULES
from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import make_settings


@pytest.fixture
def worker(database: Database, tmp_path: Path) -> Worker:
    return Worker(database, task_modules=TASK_MODULES, settings=make_settings(tmp_path))
