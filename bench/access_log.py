"""What the access log costs: GET /api/v1/contacts/{id} with the access log on and off.

The app `rapport serve` runs (`rapport.app:serve_app`, JSON logs) under uvicorn, its stderr to a
file; off is `RAPPORT_LOG_LEVEL=WARNING`, on is `INFO` (every request, unless `--sample`).
The two servers alternate in one run (each first in every other round) so that drift on a
shared machine hits both alike. Two
costs are printed: the drop of the median request rate, and the rise of the server process's
CPU time per request (user + system, from /proc), which other work on the machine disturbs
less.

    .venv/bin/python -m bench.access_log [--db sqlite|postgres] [--seconds 10] [--rounds 5]

`--in-process` measures instead the CPU time one access line adds to a request in this process:
`RequestContextMiddleware` around an app that answers 200 at once, called directly (no server,
no database), logging on and off, stderr to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from starlette.types import Message, Receive, Scope, Send

from bench.figures import POSTGRES, SQLITE, Figure
from bench.http_get_contact import (
    bench_database,
    cpu_seconds,
    free_port,
    prepare,
    serve,
    server_env,
    stop,
    wrk,
)
from rapport.domains import install
from rapport.kit.logging import configure_logging
from rapport.kit.middleware import RequestContextMiddleware


async def _answer(_scope: Scope, _receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _requests(middleware: RequestContextMiddleware, count: int) -> None:
    path = "/api/v1/contacts/0190f7c2-8a4b-7c1d-9e2f-3a4b5c6d7e8f"
    headers = [(b"host", b"localhost"), (b"authorization", b"Bearer ak_x")]

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(_message: Message) -> None:
        pass

    for _ in range(count):
        scope = {"type": "http", "method": "GET", "path": path, "headers": headers}
        await middleware(scope, receive, send)


def in_process(rounds: int, count: int = 20_000) -> None:
    """CPU microseconds per request of the middleware alone, access log on and off."""
    log = Path(tempfile.mkstemp(suffix=".log")[1])
    with log.open("wb") as file:
        os.dup2(file.fileno(), sys.stderr.fileno())
    middleware = RequestContextMiddleware(_answer, max_body_bytes=1024, body_timeout=5)
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for _round in range(rounds):
        for name, level in (("off", "WARNING"), ("on", "INFO")):
            configure_logging(level)
            started = time.process_time()
            asyncio.run(_requests(middleware, count))
            cpu[name].append(1e6 * (time.process_time() - started) / count)
    logging.shutdown()
    lines = sum(1 for _ in log.open())
    log.unlink()
    off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    print(
        f"in process, {rounds} rounds of {count} requests: middleware CPU us/request off "
        f"{off:.1f}, on {on:.1f}; one access line costs {on - off:.1f} us ({lines} lines written)"
    )


def _rounds(
    args: argparse.Namespace, url: str, workdir: Path, env: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[tuple[int, int]]]:
    """Rounds of each server, log off and on: req/s, server CPU microseconds per request, and
    (requests, access lines) of each run with the log on."""
    if args.sample is not None:
        env["RAPPORT_ACCESS_LOG_SAMPLE"] = str(args.sample)
    levels = {"off": "WARNING", "on": "INFO"}
    runs: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}  # server CPU microseconds per request
    logged: list[tuple[int, int]] = []  # (requests, access lines) of each run with the log on
    key, ids = asyncio.run(prepare(url, args.contacts))
    for round_ in range(args.rounds):
        # Each goes first in every other round, so that a trend (a database settling)
        # does not weigh on one only.
        order = list(levels.items())
        for name, level in order if round_ % 2 == 0 else reversed(order):
            log = workdir / f"{name}.log"
            log.unlink(missing_ok=True)
            port = free_port()
            process = serve(
                "rapport.app:serve_app", port, 1, {**env, "RAPPORT_LOG_LEVEL": level}, log
            )
            try:
                wrk(port, key, ids, 2, args.connections)  # warm-up
                before = cpu_seconds(process.pid)
                result = wrk(port, key, ids, args.seconds, args.connections)
                used = cpu_seconds(process.pid) - before
            finally:
                stop(process)
            runs[name].append(result["rps"])
            cpu[name].append(1e6 * used / (result["rps"] * args.seconds))
            if name == "on":
                lines = sum(1 for line in log.open() if '"rapport.access"' in line)
                logged.append((round(result["rps"] * args.seconds), lines))
    return runs, cpu, logged


def figures(
    databases: str = "sqlite",
    seconds: int = 10,
    rounds: int = 5,
    connections: int = 32,
    contacts: int = 2000,
) -> list[Figure]:
    """Requests per second of GET /contacts/{id} with the access log on, against off."""
    found = []
    for kind in ("postgres", "sqlite") if databases == "both" else (databases,):
        args = argparse.Namespace(
            seconds=seconds, rounds=rounds, connections=connections, contacts=contacts, sample=None
        )
        with bench_database(kind) as (url, workdir):
            env = server_env(url, workdir, RAPPORT_EMBEDDED_WORKER="false")
            runs, _cpu, _logged = _rounds(args, url, workdir, env)
        found.append(
            Figure(
                "access_log",
                POSTGRES if kind == "postgres" else SQLITE,
                "GET /contacts/{id}, access log on",
                statistics.median(runs["on"]),
                "req/s",
                statistics.median(runs["off"]),
                "access log off",
            )
        )
    return found


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each server")
    parser.add_argument(
        "--sample", type=float, default=None, help="RAPPORT_ACCESS_LOG_SAMPLE of the server on"
    )
    parser.add_argument("--in-process", action="store_true", help="see the module docstring")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.rounds)
        return

    with bench_database(args.db) as (url, workdir):
        env = server_env(url, workdir, RAPPORT_EMBEDDED_WORKER="false")
        runs, cpu, logged = _rounds(args, url, workdir, env)

    print(
        f"GET /api/v1/contacts/{{id}}, access log off vs on  db={args.db} "
        f"connections={args.connections} seconds={args.seconds} rounds={args.rounds} "
        f"sample={args.sample if args.sample is not None else 'default'}"
    )
    for name, samples in runs.items():
        print(f"  {name:>3} req/s per run: " + ", ".join(f"{r:.0f}" for r in samples))
    print(
        "  access lines written (about requests + warm-up): "
        + ", ".join(f"{lines} for ~{requests}" for requests, lines in logged)
    )
    for name, samples in cpu.items():
        print(
            f"  {name:>3} server CPU us/request per run: " + ", ".join(f"{c:.0f}" for c in samples)
        )
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    print(f"median req/s: off {off:.0f}, on {on:.0f}; cost {100 * (off - on) / off:.1f}%")
    off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    print(f"median server CPU us/req: off {off:.0f}, on {on:.0f}; cost {100 * (on / off - 1):.1f}%")


if __name__ == "__main__":
    main()
