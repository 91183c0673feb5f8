"""POST /api/v1/contacts/batch served by uvicorn: 1,000-record calls that create, that update
every record (upsert), and that update half and create half, against the same records sent
one POST /contacts at a time in the same run (the baseline: what a client without batches
does). Each record carries a name and two typed custom properties.

    .venv/bin/python -m bench.batch_contacts [--db sqlite|postgres] [--calls 8] [--singles 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx

from bench.figures import POSTGRES, SQLITE, Figure
from bench.http_get_contact import bench_database, free_port, serve, server_env, stop
from bench.http_write_contact import prepare
from rapport.domains import install

BATCH = 1000


def record(n: int, plan: str) -> dict[str, Any]:
    return {
        "email": f"person{n}@example.com",
        "name": f"Person {n}",
        "properties": {"plan": plan, "mrr": n % 500},
    }


def timed(http: httpx.Client, path: str, body: dict[str, Any], key: str) -> float:
    started = time.perf_counter()
    response = http.post(path, json=body, headers={"Authorization": f"Bearer {key}"})
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 201), response.text[:500]
    return elapsed


def summary(label: str, seconds: list[float], records_per_call: int) -> tuple[str, float]:
    p50 = statistics.median(seconds)
    rate = records_per_call / p50
    worst = max(seconds)
    line = f"  {label:<34} p50 {p50 * 1000:7.1f} ms  max {worst * 1000:7.1f} ms  {rate:8.0f} rec/s"
    return line, rate


def run(
    url: str,
    key: str,
    port: int,
    calls: int,
    singles: int,
    figures: list[Figure] | None = None,
    database: str = "",
) -> list[str]:
    base = f"http://127.0.0.1:{port}/api/v1/contacts"
    lines = []
    with httpx.Client(timeout=120) as http:
        one = [timed(http, base, record(10_000_000 + n, "Solo"), key) for n in range(singles)]
        line, single_rate = summary("one POST /contacts per record", one, 1)
        lines.append(line)
        created, updated, mixed = [], [], []
        for call in range(calls):
            first = call * BATCH
            fresh = [record(first + n, "Starter") for n in range(BATCH)]
            created.append(timed(http, f"{base}/batch", {"records": fresh}, key))
            changed = [record(first + n, "Growth") for n in range(BATCH)]
            body = {"records": changed, "upsert": True}
            updated.append(timed(http, f"{base}/batch", body, key))
            half = [record(first + n, "Scale") for n in range(BATCH // 2)]
            half += [record(5_000_000 + first + n, "Scale") for n in range(BATCH // 2)]
            mixed.append(timed(http, f"{base}/batch", {"records": half, "upsert": True}, key))
        for label, seconds in (
            ("batch of 1,000 creates", created),
            ("batch of 1,000 upserts, all updates", updated),
            ("batch of 1,000 upserts, half new", mixed),
        ):
            line, rate = summary(label, seconds, BATCH)
            lines.append(f"{line}  ratio {rate / single_rate:5.1f}x")
            if figures is not None:
                figures.append(
                    Figure(
                        "batch_contacts",
                        database,
                        f"{label} p50",
                        statistics.median(seconds),
                        "s",
                        statistics.median(one) * BATCH,
                        "1,000 x one POST (p50 x 1,000)",
                    )
                )
    return lines


def figures(databases: str = "both", calls: int = 8, singles: int = 300) -> list[Figure]:
    found: list[Figure] = []
    for kind in ("postgres", "sqlite") if databases == "both" else (databases,):
        with bench_database(kind) as (url, workdir):
            _tenant, key = asyncio.run(prepare(url))
            port = free_port()
            process = serve("rapport.app:create_app", port, 1, server_env(url, workdir))
            try:
                place = POSTGRES if kind == "postgres" else SQLITE
                run(url, key, port, calls, singles, found, place)
            finally:
                stop(process)
    return found


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--singles", type=int, default=300)
    args = parser.parse_args()
    with bench_database(args.db) as (url, workdir):
        _tenant, key = asyncio.run(prepare(url))
        port = free_port()
        process = serve("rapport.app:create_app", port, 1, server_env(url, workdir))
        try:
            print(f"{args.db}: {args.calls} calls of each kind, 1 worker")
            for line in run(url, key, port, args.calls, args.singles):
                print(line)
        finally:
            stop(process)


if __name__ == "__main__":
    main()
