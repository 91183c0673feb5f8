"""Running a benchmark scenario on a throwaway PostgreSQL cluster and on a temporary SQLite
file, and printing one report."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Scenario = Callable[[str, str], Awaitable[list[str]]]


def run_on(databases: str, heading: str, scenario: Scenario) -> None:
    """Run `scenario(url, dialect)` on `databases` (both, postgres or sqlite), then print the
    heading and each database's lines."""
    sys.path.insert(0, str(ROOT))
    from tests.pgcluster import PgCluster

    report = [heading]
    if databases in ("both", "postgres"):
        cluster = PgCluster()
        try:
            url = cluster.start()
            report.append("PostgreSQL")
            report += asyncio.run(scenario(url, "postgresql"))
        finally:
            cluster.stop()
    if databases in ("both", "sqlite"):
        workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
        try:
            report.append("SQLite")
            report += asyncio.run(scenario(f"sqlite+inline:///{workdir / 'bench.db'}", "sqlite"))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(report))


DATABASE_CHOICES: Sequence[str] = ("both", "postgres", "sqlite")
