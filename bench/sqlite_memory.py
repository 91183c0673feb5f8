"""What the SQLite server's memory grows with under writes: RSS over a POST /contacts load.

Serves the app on SQLite under uvicorn (one process, embedded worker on, as `rapport serve`
runs it), loads it with `wrk` posting contacts with unique emails, and samples the server's
/proc/PID/status (VmRSS, and its anonymous, file and shared parts), the memory SQLite itself
holds (`sqlite3_memory_used()`: page caches, schemas and prepared statements of every
connection, asked of the server through a route this module's app factory adds) and the number
of SQLite connections it holds open (descriptors on the database file) every second. Each
variant is a separate server on a fresh database, so the candidate causes can be tried one at
a time:

    .venv/bin/python -m bench.sqlite_memory [--seconds 60] [--variant NAME ...]

A variant sets environment variables of the server: `RAPPORT_DATABASE_POOL_SIZE`, and
`BENCH_SQLITE_PRAGMAS` (`cache_size=-500;mmap_size=0`), run on every new connection after
Rapport's own by this module's app factory.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from bench.figures import SQLITE, Figure
from bench.http_get_contact import free_port, prepare, serve, server_env, stop
from rapport.app import create_app as create_rapport_app
from rapport.config import Settings
from rapport.domains import install

VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "pool 4": {"RAPPORT_DATABASE_POOL_SIZE": "4"},
    "cache 256 KiB": {"BENCH_SQLITE_PRAGMAS": "cache_size=-256"},
    "malloc arenas 2": {"MALLOC_ARENA_MAX": "2"},
}
STATUS_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")
MEMORY_FIELDS = (*STATUS_FIELDS, "SQLite")
POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local run = tostring(os.time()) .. tostring(math.random(1000000))
request = function()
  n = n + 1
  local body = string.format(
    '{"email": "p%%s-%%d@example.com", "givenName": "Load", "familyName": "Test %%d"}',
    run, n, n)
  return wrk.format(nil, "/api/v1/contacts", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d\\n", summary.requests, summary.errors.status))
end
"""


def create_app() -> FastAPI:
    """Rapport's app, with `BENCH_SQLITE_PRAGMAS` run on each new SQLite connection and
    `GET /bench/sqlite-memory`: the bytes SQLite holds in this process."""
    app = create_rapport_app(Settings())
    sqlite = ctypes.CDLL("libsqlite3.so.0")  # the library the sqlite3 module is linked to
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    app.add_api_route("/bench/sqlite-memory", lambda: {"used": sqlite.sqlite3_memory_used()})
    pragmas = [p for p in os.environ.get("BENCH_SQLITE_PRAGMAS", "").split(";") if p]

    def tune(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if pragmas:
        event.listen(app.state.database.engine.sync_engine, "connect", tune)
    return app


def memory(pid: int, port: int, database: Path) -> dict[str, float]:
    """The process's memory and SQLite's share of it in MB, and its open SQLite connections
    (descriptors on the database file)."""
    status = Path(f"/proc/{pid}/status").read_text()
    sample = {
        name: int(re.search(rf"^{name}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # type: ignore[union-attr]
        for name in STATUS_FIELDS
    }
    used = httpx.get(f"http://127.0.0.1:{port}/bench/sqlite-memory", timeout=30).json()["used"]
    sample["SQLite"] = used / 1024 / 1024
    sample["threads"] = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    sample["connections"] = sum(
        1 for fd in Path(f"/proc/{pid}/fd").iterdir() if _target(fd) == str(database)
    )
    return sample


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed meanwhile
        return ""


def load(port: int, key: str, seconds: int, connections: int) -> tuple[int, int]:
    """wrk posting contacts; returns (requests, non-2xx)."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(POST_SCRIPT % key)
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script)]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    script.unlink()
    match = re.search(r"RESULT (\d+) (\d+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return int(match.group(1)), int(match.group(2))


def run_variant(name: str, overrides: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    database = workdir / "bench.db"
    url = f"sqlite+inline:///{database}"
    try:
        key, _ids = asyncio.run(prepare(url, args.contacts))
        env = server_env(url, workdir, **overrides)
        port = free_port()
        process = serve("bench.sqlite_memory:create_app", port, 1, env, workdir / "server.log")
        samples: list[dict[str, float]] = []
        try:
            samples.append(memory(process.pid, port, database))
            result: list[tuple[int, int]] = []
            loader = threading.Thread(
                target=lambda: result.append(load(port, key, args.seconds, args.connections))
            )
            loader.start()
            while loader.is_alive():
                time.sleep(1)
                samples.append(memory(process.pid, port, database))
            loader.join()
        finally:
            stop(process)
        requests, errors = result[0]
        return {"name": name, "samples": samples, "rps": requests / args.seconds, "errors": errors}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def figures(seconds: int = 60, connections: int = 32, contacts: int = 10) -> list[Figure]:
    """The default variant's resident memory at the end of the load, against its start."""
    args = argparse.Namespace(seconds=seconds, connections=connections, contacts=contacts)
    result = run_variant("default", VARIANTS["default"], args)
    samples = result["samples"]
    return [
        Figure(
            "sqlite_memory",
            SQLITE,
            f"server RSS after {seconds} s of POST /contacts ({result['rps']:.0f} req/s)",
            samples[-1]["VmRSS"],
            "MB",
            samples[0]["VmRSS"],
            "RSS before the load",
        )
    ]


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--contacts", type=int, default=10, help="seeded before the load")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    args = parser.parse_args()
    results = [run_variant(name, VARIANTS[name], args) for name in args.variant or VARIANTS]

    print(
        f"POST /api/v1/contacts on SQLite, {args.seconds} s per variant, "
        f"{args.connections} connections; RSS in MB"
    )
    for result in results:
        samples = result["samples"]
        trace = samples[:: max(1, len(samples) // 12)]
        print(
            f"\n{result['name']}: {result['rps']:.0f} req/s, {result['errors']} non-2xx; "
            f"RSS over time: " + " ".join(f"{s['VmRSS']:.0f}" for s in trace)
        )
        print("  SQLite's own over time: " + " ".join(f"{s['SQLite']:.1f}" for s in trace))
        print(f"  {'':<6}" + "".join(f"{f:>12}" for f in (*MEMORY_FIELDS, "connections")))
        for label, sample in (("start", samples[0]), ("end", samples[-1])):
            print(
                f"  {label:<6}"
                + "".join(f"{sample[f]:>12.1f}" for f in MEMORY_FIELDS)
                + f"{sample['connections']:>12.0f}"
            )
        peak = max(s["connections"] for s in samples)
        threads = max(s["threads"] for s in samples)
        print(f"  most SQLite connections open at once: {peak:.0f}; most threads: {threads:.0f}")


if __name__ == "__main__":
    main()
