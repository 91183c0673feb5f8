"""GET /api/v1/contacts/{id}: Rapport against a bare FastAPI JSON endpoint served the same way.

Both are served by uvicorn (same options, same worker count) and loaded with wrk, one after
the other, in this run. The ratio Rapport/baseline is the figure to watch; absolute numbers
drift with the machine.

    .venv/bin/python -m bench.http_get_contact [--db sqlite|postgres] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import select

from bench import profile
from bench.figures import POSTGRES, SQLITE, Figure
from rapport.auth.scopes import ALL_SCOPES
from rapport.auth.service import ApiKeyService
from rapport.config import DEFAULT_RATE_LIMITS
from rapport.demo.service import seed_demo
from rapport.domains import install
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from rapport.models import Contact
from rapport.tenancy.service import WorkspaceService

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def prepare(url: str, contacts: int) -> tuple[str, list[str]]:
    """A workspace with `contacts` contacts; returns an API key and the contact ids."""
    database = Database(url, pooled=False)
    await upgrade(database)
    async with database.transaction(platform="benchmark set-up and checks") as session:
        tenant = await WorkspaceService(session).create("Bench")
        await seed_demo(Context.bound(session, tenant.id), contacts, seed=11)
        _key, secret = await ApiKeyService(Context.bound(session, tenant.id)).create(
            "bench", sorted(ALL_SCOPES)
        )
    async with database.session(platform="benchmark set-up and checks") as session:
        ids = [str(i) for i in (await session.execute(select(Contact.id))).scalars()]
    await database.dispose()
    return secret, ids


@contextlib.contextmanager
def bench_database(db: str) -> Iterator[tuple[str, Path]]:
    """A database URL (a throwaway PostgreSQL cluster, or a SQLite file) and a work directory,
    both removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    cluster = None
    try:
        if db == "postgres":
            sys.path.insert(0, str(ROOT))
            from tests.pgcluster import PgCluster

            cluster = PgCluster()
            url = cluster.start()
        else:
            url = f"sqlite+inline:///{workdir / 'bench.db'}"
        yield url, workdir
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def server_env(url: str, workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a served Rapport: warnings only, and rate limits on (their cost is
    part of every request) but out of reach; `settings` add to it."""
    return {
        **os.environ,
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_DATA_DIR": str(workdir),
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_RATE_LIMITS": json.dumps(dict.fromkeys(DEFAULT_RATE_LIMITS, "1000000000/minute")),
        **settings,
    }


def serve(
    factory: str, port: int, workers: int, env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """The app `factory` under uvicorn, once it answers; its stderr goes to `log` if given
    (a server that logs per request would fill an unread pipe and stall)."""
    stderr: IO[bytes] | int = log.open("ab") if log is not None else subprocess.PIPE
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    if not isinstance(stderr, int):
        stderr.close()  # the server holds its own copy
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/contacts/x", timeout=1).status_code:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    if log is not None:
        errors = log.read_text()
    else:
        errors = process.stderr.read().decode() if process.stderr else ""
    raise RuntimeError(f"{factory} did not start: {errors}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far (user and system): per request, a figure that
    other work on the machine disturbs less than the request rate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    port: int,
    key: str,
    ids: list[str],
    seconds: int,
    connections: int,
    pause_ms: float | None = None,
) -> dict[str, float]:
    """GET the contacts `ids` (500 of them) in turn; with `pause_ms`, each connection waits
    that long before each request (a paced load: about connections / pause requests a
    second, whatever the latency, as long as it stays well under the pause)."""
    sample = random.Random(1).sample(ids, min(len(ids), 500))
    pacing = "" if pause_ms is None else f"delay = function()\n  return {pause_ms:.1f}\nend\n"
    return wrk_lua(
        port,
        "local ids = {" + ",".join(f'"{i}"' for i in sample) + "}\n"
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        "local n = 0\n"
        "request = function()\n  n = n + 1\n"
        '  return wrk.format("GET", "/api/v1/contacts/" .. ids[(n % #ids) + 1])\nend\n' + pacing,
        seconds,
        connections,
    )


PACED_CONNECTIONS = 16


def paced(
    env: dict[str, str], key: str, ids: list[str], args: argparse.Namespace, rate: float
) -> dict[str, float]:
    """Rapport's latency at a steady `rate` of requests a second (half its maximum): the
    tail a client sees when the server is busy but not saturated."""
    port = free_port()
    process = serve("rapport.app:create_app", port, args.workers, env)
    try:
        pause = PACED_CONNECTIONS * 1000 / rate
        wrk(port, key, ids, 2, PACED_CONNECTIONS, pause)
        return wrk(port, key, ids, args.seconds, PACED_CONNECTIONS, pause)
    finally:
        stop(process)


def wrk_lua(port: int, lua: str, seconds: int, connections: int) -> dict[str, float]:
    """Load the server with wrk (one thread) making the requests `lua` defines; the request
    rate, latency percentiles and the count of non-2xx answers."""
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        lua + "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %.3f %.3f\\n", summary.requests,'
        " summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))\n"
        "end\n"
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    script.unlink()
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or rps is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return {
        "requests": float(match.group(1)),
        "rps": float(rps.group(1)),
        "non2xx": float(match.group(2)),
        "p50_ms": float(match.group(3)),
        "p99_ms": float(match.group(4)),
    }


def _median(samples: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median throughput."""
    return sorted(samples, key=lambda r: r["rps"])[len(samples) // 2]


def alternate(
    env: dict[str, str],
    key: str,
    ids: list[str],
    seconds: int,
    connections: int,
    workers: int,
    rounds: int,
) -> dict[str, list[dict[str, float]]]:
    """wrk's results for each server, run after run."""
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "rapport": []}
    # Alternate the servers so drift on a shared machine hits both alike.
    for _round in range(rounds):
        for name, factory in (
            ("baseline", "bench.baseline_app:create_app"),
            ("rapport", "rapport.app:create_app"),
        ):
            port = free_port()
            process = serve(factory, port, workers, env)
            try:
                wrk(port, key, ids, 2, connections)  # warm-up
                cpu = cpu_seconds(process.pid)
                result = wrk(port, key, ids, seconds, connections)
                result["cpu_ms"] = 1000 * (cpu_seconds(process.pid) - cpu) / result["requests"]
                runs[name].append(result)
            finally:
                stop(process)
    return runs


def figures(
    databases: str = "both",
    seconds: int = 15,
    rounds: int = 3,
    connections: int = 32,
    contacts: int = 2000,
) -> list[Figure]:
    found = []
    for kind in ("postgres", "sqlite") if databases == "both" else (databases,):
        with bench_database(kind) as (url, workdir):
            key, ids = asyncio.run(prepare(url, contacts))
            runs = alternate(server_env(url, workdir), key, ids, seconds, connections, 1, rounds)
        ours, theirs = _median(runs["rapport"]), _median(runs["baseline"])
        found.append(
            Figure(
                "http_get_contact",
                POSTGRES if kind == "postgres" else SQLITE,
                "GET /contacts/{id}, 1 worker",
                ours["rps"],
                "req/s",
                theirs["rps"],
                "bare FastAPI endpoint",
            )
        )
    return found


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each server")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="then profile Rapport under the same load with py-spy for this long",
    )
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()

    with bench_database(args.db) as (url, workdir):
        key, ids = asyncio.run(prepare(url, args.contacts))
        env = server_env(url, workdir)
        runs = alternate(env, key, ids, args.seconds, args.connections, args.workers, args.rounds)
        half = _median(runs["rapport"])["rps"] / 2
        steady = paced(env, key, ids, args, half)
        layers = profile_under_load(env, key, ids, args) if args.profile else None

    print(
        f"GET /api/v1/contacts/{{id}}  db={args.db} workers={args.workers} "
        f"connections={args.connections} seconds={args.seconds} contacts={args.contacts} "
        f"rounds={args.rounds}, median run shown"
    )
    for name, samples in runs.items():
        print(f"  {name} req/s per run: " + ", ".join(f"{r['rps']:.0f}" for r in samples))
    print(
        f"{'server':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'CPU ms/req':>12}"
    )
    results = {name: _median(samples) for name, samples in runs.items()}
    for name, r in results.items():
        print(
            f"{name:<10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}"
            f"{r['non2xx']:>10.0f}{r['cpu_ms']:>12.2f}"
        )
    print(f"ratio rapport/baseline: {results['rapport']['rps'] / results['baseline']['rps']:.2f}")
    cpu = [statistics.median(r["cpu_ms"] for r in samples) for samples in runs.values()]
    print(f"ratio by CPU per request (medians): {cpu[0] / cpu[1]:.2f}")
    print(
        f"rapport paced at half its maximum ({half:.0f} req/s asked, {steady['rps']:.0f} served, "
        f"{PACED_CONNECTIONS} connections): p50 {steady['p50_ms']:.2f} ms, "
        f"p99 {steady['p99_ms']:.2f} ms, non-2xx {steady['non2xx']:.0f}"
    )
    if layers is not None:
        print(f"where Rapport's CPU goes ({args.profile} s under the same load, py-spy):")
        print(profile.report(layers))


def profile_under_load(
    env: dict[str, str], key: str, ids: list[str], args: argparse.Namespace
) -> Counter[str]:
    """Rapport's samples per layer while wrk loads it (one worker: the server is the process
    uvicorn was started as)."""
    port = free_port()
    process = serve("rapport.app:create_app", port, 1, env)
    try:
        wrk(port, key, ids, 2, args.connections)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            load = pool.submit(wrk, port, key, ids, args.profile + 2, args.connections)
            stacks = profile.record(process.pid, args.profile)
            load.result()
        if args.profile_out:
            args.profile_out.write_text(stacks)
        return profile.layers(stacks)
    finally:
        stop(process)


if __name__ == "__main__":
    main()
