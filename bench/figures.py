"""What a benchmark scenario measured, as data: each script's `figures(...)` returns these
(its own command line prints its report as before), and `python -m bench` prints them in one
table with the aims (`bench/__main__.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

POSTGRES, SQLITE = "PostgreSQL", "SQLite"
DIALECTS = {"postgresql": POSTGRES, "sqlite": SQLITE}


@dataclass(frozen=True)
class Figure:
    """One measured figure and the baseline measured in the same run to compare it with.
    `ratio` is figure / baseline, whatever the unit (for times, a ratio above 1 is slower)."""

    scenario: str
    database: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    size: int | None = None
    """The workspace's size (contacts, leads...) when an aim holds at a given size."""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def median(values: list[float]) -> float:
    return statistics.median(values)


Collect = Callable[[str, str], Coroutine[Any, Any, list[Figure]]]


def collect_on(databases: str, collect: Collect) -> list[Figure]:
    """Run `collect(url, dialect)` on a throwaway PostgreSQL cluster and/or a temporary SQLite
    file (`databases`: both, postgres or sqlite) and return every figure."""
    sys.path.insert(0, str(ROOT))
    from tests.pgcluster import PgCluster

    found: list[Figure] = []
    if databases in ("both", "postgres"):
        cluster = PgCluster()
        try:
            found += asyncio.run(collect(cluster.start(), "postgresql"))
        finally:
            cluster.stop()
    if databases in ("both", "sqlite"):
        workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
        try:
            found += asyncio.run(collect(f"sqlite+inline:///{workdir / 'bench.db'}", "sqlite"))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return found


def run_scenario(name: str, options: dict[str, Any]) -> list[Figure]:
    """`bench.<name>.figures(**options)`, its report sent to stderr (`python -m bench` runs
    this in a process of its own)."""
    from rapport.domains import install

    install()
    module = importlib.import_module(f"bench.{name}")
    with contextlib.redirect_stdout(sys.stderr):
        figures: list[Figure] = module.figures(**options)
    return figures
