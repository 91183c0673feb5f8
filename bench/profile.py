"""Where a server's CPU goes, per layer: py-spy samples the process while it is under load and
each sample is charged to the layer of its innermost Python frame (the code that was running,
not the code that called it).

Used by the HTTP benchmarks' `--profile` option; py-spy comes with the dev dependencies.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

# First match wins, tried against the file path of the innermost frame (py-spy shortens it
# to start at the package: `sqlalchemy/engine/base.py`).
LAYERS: tuple[tuple[str, str], ...] = (
    ("driver", r"^(asyncpg|sqlite3)/|^rapport/kit/sqlite\.py"),
    ("SQLAlchemy", r"^sqlalchemy/"),
    ("pydantic", r"^pydantic(_core)?/"),
    ("FastAPI and Starlette", r"^(fastapi|starlette)/"),
    ("uvicorn, uvloop and asyncio", r"^(uvicorn|uvloop|asyncio|httptools)/"),
    ("logging", r"^logging/"),
    ("JSON", r"^(json|orjson)/"),
    ("Rapport", r"^rapport/"),
)
_FRAME = re.compile(r"\(([^:()]+):\d+\)$")


def record(pid: int, seconds: int) -> str:
    """Samples of `pid` for `seconds` as collapsed stacks (idle threads are not sampled)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        subprocess.run(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                out.name,
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
        )
        return Path(out.name).read_text()


def layers(collapsed: str) -> Counter[str]:
    """Sample counts per layer from py-spy's collapsed stacks (`frame;frame;... count`)."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        counts[_layer(stack.rsplit(";", 1)[-1])] += int(count)
    return counts


def _layer(frame: str) -> str:
    match = _FRAME.search(frame)
    path = (match.group(1) if match else frame).split("site-packages/")[-1]
    for name, pattern in LAYERS:
        if re.search(pattern, path):
            return name
    return "other"


def report(counts: Counter[str]) -> str:
    total = sum(counts.values()) or 1
    return "\n".join(f"  {name:<30}{100 * n / total:>6.1f}%" for name, n in counts.most_common())
