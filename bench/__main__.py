"""Every scenario of bench/ in one run, and one table: scenario, database, figure, the
baseline measured in the same run, their ratio, the aim (from the issues) and whether it is
met.

    .venv/bin/python -m bench                      # quick profile: small sizes, short loads
    .venv/bin/python -m bench --full               # the issues' sizes (1M contacts...): hours
    .venv/bin/python -m bench --only export,jobs   # some scenarios (names as in bench/*.py)
    .venv/bin/python -m bench --keep DIR           # keep (and reuse) the generated databases

Each scenario runs in a process of its own (its peak memory and its settings are its own);
its own report goes to stderr, the table to stdout. A scenario that fails gets its error in
its row and the run goes on. Generated workspaces (`cql`, `lists`, `export`) are kept in
`--keep DIR` (else a temporary directory for the run), so the three share one per database
and size.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import POSTGRES, SQLITE, Figure, run_scenario


@dataclass(frozen=True)
class Scenario:
    name: str
    """The module in bench/ whose `figures(**options)` it runs."""
    quick: dict[str, Any]
    full: dict[str, Any]
    generated: bool = False
    """Takes `keep` (a workspace made by bench.generate, shared with the others)."""


QUICK_CONTACTS = 20_000
FULL_CONTACTS = 1_000_000

SCENARIOS = (
    Scenario(
        "http_get_contact",
        {"seconds": 4, "rounds": 1},
        {"seconds": 15, "rounds": 3},
    ),
    Scenario(
        "http_write_contact",
        {"seconds": 3, "rounds": 1, "sizes": (10_000,)},
        {"seconds": 8, "rounds": 3, "sizes": (10_000, 100_000)},
    ),
    Scenario("event_overhead", {"creates": 1000}, {"creates": 2000}),
    Scenario("jobs", {"jobs": 3000}, {"jobs": 10_000}),
    Scenario("webhooks", {"events": 1000}, {"events": 10_000}),
    Scenario("list_contacts", {"sizes": (100_000,)}, {"sizes": (100_000, 1_000_000)}),
    Scenario("crm_core", {"contacts": 10_000}, {"contacts": 100_000}),
    Scenario("property_storage", {"contacts": 20_000}, {"contacts": 200_000}),
    Scenario(
        "sales",
        {"leads": 5_000, "activities": 20_000, "samples": 15},
        {"leads": 50_000, "activities": 200_000, "samples": 40},
    ),
    Scenario("batch_contacts", {"calls": 3, "singles": 100}, {"calls": 8, "singles": 300}),
    Scenario(
        "cql",
        {"contacts": QUICK_CONTACTS, "samples": 10},
        {"contacts": FULL_CONTACTS, "samples": 30},
        generated=True,
    ),
    Scenario(
        "lists",
        {"contacts": QUICK_CONTACTS},
        {"contacts": FULL_CONTACTS},
        generated=True,
    ),
    Scenario(
        "export",
        {"contacts": QUICK_CONTACTS, "rounds": 1},
        {"contacts": FULL_CONTACTS, "rounds": 2},
        generated=True,
    ),
    Scenario("access_log", {"seconds": 3, "rounds": 2}, {"seconds": 10, "rounds": 5}),
    Scenario("sqlite_memory", {"seconds": 10}, {"seconds": 60}),
    Scenario("campaign_send", {"contacts": 10_000}, {"contacts": 100_000}),
    Scenario(
        "campaign_stats",
        {"recipients": 100_000, "samples": 10},
        {"recipients": 1_000_000, "samples": 20},
    ),
)


@dataclass(frozen=True)
class Aim:
    """What an issue asked of a figure: its value or its ratio to the baseline, compared with
    a bound; for figures of this scenario whose name contains `match`, on `database` (any
    when None), and only at workspace size `size` when given."""

    scenario: str
    text: str
    on: str  # "value" or "ratio"
    compare: str  # "<", "<=" or ">="
    bound: float
    match: str = ""
    database: str | None = None
    size: int | None = None

    def applies(self, figure: Figure) -> bool:
        return (
            figure.scenario == self.scenario
            and self.match in figure.name
            and self.database in (None, figure.database)
        )

    def met(self, figure: Figure) -> bool | None:
        """None: not at the size the aim is for, or no ratio to judge."""
        if self.size is not None and figure.size != self.size:
            return None
        measured = figure.value if self.on == "value" else figure.ratio
        if measured is None:
            return None
        tests: dict[str, Callable[[float, float], bool]] = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
        }
        return tests[self.compare](measured, self.bound)


AIMS = (
    Aim("http_get_contact", "ratio >= 0.35", "ratio", ">=", 0.35),
    Aim("http_write_contact", "ratio >= 0.3", "ratio", ">=", 0.3, match="POST"),
    Aim("event_overhead", "overhead <= 10% (ratio <= 1.10)", "ratio", "<=", 1.10),
    Aim("jobs", ">= 2,000 jobs/s", "value", ">=", 2000, "2 worker(s), steady", POSTGRES),
    Aim("jobs", ">= 1,000 jobs/s", "value", ">=", 1000, match="steady", database=SQLITE),
    Aim("list_contacts", "p50 < 20 ms at 100k", "value", "<", 20, size=100_000),
    Aim("cql", "p50 <= 50 ms at 1M", "value", "<=", 50, size=1_000_000),
    Aim("lists", "<= 2 s at 1M", "value", "<=", 2, size=1_000_000),
    Aim("batch_contacts", "p50 < 1 s", "value", "<", 1, match="upserts"),
    Aim("export", ">= 100,000 rows/s", "value", ">=", 100_000, match="CSV export"),
    Aim(
        "campaign_send",
        ">= 2,000 messages/s at 100k",
        "value",
        ">=",
        2000,
        "SMTP, textBody given, 2 worker(s), send to sent",
        POSTGRES,
        100_000,
    ),
    Aim(
        "campaign_send",
        ">= 2,000 messages/s at 100k",
        "value",
        ">=",
        2000,
        "SMTP, textBody derived, 2 worker(s), send to sent",
        POSTGRES,
        100_000,
    ),
    Aim("campaign_stats", "p50 < 50 ms at 1M", "value", "<", 50, "stats", size=1_000_000),
)


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def row(figure: Figure) -> list[str]:
    aims = [aim for aim in AIMS if aim.applies(figure)]
    verdicts = []
    for aim in aims:
        met = aim.met(figure)
        verdicts.append("n/a at this size" if met is None else "yes" if met else "NO")
    baseline = (
        f"{_number(figure.baseline)} {figure.unit} ({figure.baseline_name})"
        if figure.baseline is not None
        else "-"
    )
    ratio = figure.ratio
    return [
        figure.scenario,
        figure.database,
        figure.name,
        f"{_number(figure.value)} {figure.unit}",
        baseline,
        "-" if ratio is None else f"{ratio:.2f}",
        "; ".join(aim.text for aim in aims) or "-",
        "; ".join(verdicts) or "-",
    ]


HEADER = ["scenario", "db", "figure", "value", "baseline (same run)", "ratio", "aim", "met"]


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the issues' sizes (hours)")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--keep", type=Path, help="keep and reuse generated databases here")
    args = parser.parse_args()
    known = {scenario.name: scenario for scenario in SCENARIOS}
    chosen = list(SCENARIOS)
    if args.only:
        names = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown:
            parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
        chosen = [known[name] for name in names]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="rapport-bench-all-") as scratch:
        # PostgreSQL clusters run as the postgres user, which must reach their directory.
        Path(scratch).chmod(0o755)
        keep = args.keep or Path(scratch)
        started = time.perf_counter()
        for scenario in chosen:
            options = dict(scenario.full if args.full else scenario.quick)
            if scenario.generated:
                options["keep"] = keep
            began = time.perf_counter()
            print(f"== {scenario.name} {options}", file=sys.stderr, flush=True)
            try:
                context = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(1, mp_context=context) as pool:
                    figures = pool.submit(run_scenario, scenario.name, options).result()
                rows += [row(figure) for figure in figures]
                if not figures:
                    rows.append([scenario.name, "-", "no figures", "-", "-", "-", "-", "-"])
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                error = f"FAILED: {type(exc).__name__}: {exc}".replace("\n", " ")[:300]
                rows.append([scenario.name, "-", error, "-", "-", "-", "-", "-"])
            took = time.perf_counter() - began
            print(f"== {scenario.name}: {took:.0f} s", file=sys.stderr, flush=True)
        total = time.perf_counter() - started
    profile = "full" if args.full else "quick"
    print(f"{profile} profile, {len(chosen)} scenario(s), {total / 60:.1f} min")
    print(table(rows))


if __name__ == "__main__":
    main()
