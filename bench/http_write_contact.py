"""POST and PATCH /api/v1/contacts: Rapport against a bare FastAPI endpoint that stores the
contact with one INSERT (or changes it with one UPDATE) straight through the same driver, at
two sizes of the workspace, to see both the ratio and whether a write's cost grows with the
workspace.

Rapport's create carries everything a real one does: an Idempotency-Key, two typed custom
properties (their value rows), the `contact.created` event, rate limits (on, out of reach).
The workspace is grown between sizes by bulk inserts; the servers alternate, and each figure
is the median of the rounds.

    .venv/bin/python -m bench.http_write_contact [--db sqlite|postgres] [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import statistics
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from bench import profile
from bench.crm_core import contact_rows, insert_rows
from bench.figures import POSTGRES, SQLITE, Figure
from bench.http_get_contact import (
    bench_database,
    cpu_seconds,
    free_port,
    serve,
    server_env,
    stop,
    wrk_lua,
)
from rapport.auth.scopes import ALL_SCOPES
from rapport.auth.service import ApiKeyService
from rapport.domains import install
from rapport.kit.context import Context
from rapport.kit.db import Database, refresh_planner_statistics
from rapport.kit.migrate import upgrade
from rapport.models import Contact, PropertyEntity, PropertyType
from rapport.properties.schemas import PropertyCreate
from rapport.properties.service import PropertyService
from rapport.tenancy.service import WorkspaceService

SETUP = "benchmark set-up and checks"


async def prepare(url: str) -> tuple[uuid.UUID, str]:
    """A workspace with two contact properties; its id and an API key."""
    database = Database(url, pooled=False)
    await upgrade(database)
    async with database.transaction(platform=SETUP) as session:
        tenant = await WorkspaceService(session).create("Bench")
        context = Context.bound(session, tenant.id)
        for key, kind in (("plan", PropertyType.TEXT), ("mrr", PropertyType.NUMBER)):
            await PropertyService(context).create(
                PropertyCreate(key=key, label=key, type=kind, entity=PropertyEntity.CONTACT)
            )
        _key, secret = await ApiKeyService(context).create("bench", sorted(ALL_SCOPES))
    await database.dispose()
    return tenant.id, secret


async def grow(url: str, tenant: uuid.UUID, size: int) -> list[str]:
    """Bulk-insert contacts until the workspace holds `size`; a sample of their ids."""
    database = Database(url, pooled=False)
    async with database.session(platform=SETUP) as session:
        held = int(await session.scalar(select(func.count()).select_from(Contact)) or 0)
    rows = contact_rows(tenant, held, max(0, size - held), random.Random(size))
    await insert_rows(database, Contact, rows)
    async with database.engine.connect() as connection:
        # As `rapport serve` does when it starts (and the worker every ten minutes).
        await refresh_planner_statistics(connection)
    async with database.session(platform=SETUP) as session:
        ids = (await session.execute(select(Contact.id).limit(2000))).scalars()
        sample = [str(i) for i in ids]
    await database.dispose()
    return sample


def create_lua(key: str) -> str:
    """Creates with emails and Idempotency-Keys never sent before (a fresh prefix per call)."""
    run = uuid.uuid4().hex[:10]
    return (
        f'local run = "{run}"\nlocal n = 0\n'
        "request = function()\n  n = n + 1\n"
        '  local body = \'{"email":"\' .. run .. "-" .. n .. \'@bench.example",'
        '"name":"Bench \' .. n .. \'","properties":{"plan":"pro","mrr":\' .. n .. "}}"\n'
        '  return wrk.format("POST", "/api/v1/contacts", {["Content-Type"] = "application/json",'
        f' ["Authorization"] = "Bearer {key}", ["Idempotency-Key"] = run .. n}}, body)\nend\n'
    )


def update_lua(key: str, ids: list[str]) -> str:
    return (
        "local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        '  local body = \'{"name":"Renamed \' .. n .. \'","properties":{"mrr":\' .. n .. "}}"\n'
        '  return wrk.format("PATCH", "/api/v1/contacts/" .. ids[(n % #ids) + 1],'
        ' {["Content-Type"] = "application/json",'
        f' ["Authorization"] = "Bearer {key}"}}, body)\nend\n'
    )


def measure(
    factory: str, lua: Callable[[], str], env: dict[str, str], seconds: int, connections: int
) -> dict[str, float]:
    port = free_port()
    process = serve(factory, port, 1, env)
    try:
        wrk_lua(port, lua(), 2, connections)  # warm-up
        cpu = cpu_seconds(process.pid)
        result = wrk_lua(port, lua(), seconds, connections)
        result["cpu_ms"] = 1000 * (cpu_seconds(process.pid) - cpu) / max(result["requests"], 1)
        return result
    finally:
        stop(process)


Results = dict[tuple[int, str, str], list[dict[str, float]]]


def alternate(
    url: str,
    tenant: uuid.UUID,
    key: str,
    env: dict[str, str],
    sizes: list[int],
    rounds: int,
    seconds: int,
    connections: int,
) -> Results:
    """wrk's results by (size, operation, server): the workspace grown to each size, then
    the servers alternated `rounds` times."""
    results: Results = {}
    for size in sizes:
        ids = asyncio.run(grow(url, tenant, size))
        for _round in range(rounds):
            for operation, lua in (
                ("POST", functools.partial(create_lua, key)),
                ("PATCH", functools.partial(update_lua, key, ids)),
            ):
                for name, factory in (
                    ("baseline", "bench.baseline_app:create_write_app"),
                    ("rapport", "rapport.app:create_app"),
                ):
                    result = measure(factory, lua, env, seconds, connections)
                    results.setdefault((size, operation, name), []).append(result)
    return results


def figures(
    databases: str = "both",
    seconds: int = 8,
    rounds: int = 3,
    connections: int = 16,
    sizes: tuple[int, ...] = (10_000, 100_000),
) -> list[Figure]:
    found = []
    for kind in ("postgres", "sqlite") if databases == "both" else (databases,):
        with bench_database(kind) as (url, workdir):
            tenant, key = asyncio.run(prepare(url))
            env = server_env(url, workdir, BENCH_TENANT=str(tenant))
            results = alternate(url, tenant, key, env, list(sizes), rounds, seconds, connections)
        for size in sizes:
            for operation in ("POST", "PATCH"):
                base = _medians(results[(size, operation, "baseline")])
                ours = _medians(results[(size, operation, "rapport")])
                found.append(
                    Figure(
                        "http_write_contact",
                        POSTGRES if kind == "postgres" else SQLITE,
                        f"{operation} /contacts, {size:,} contacts",
                        ours["rps"],
                        "req/s",
                        base["rps"],
                        "bare FastAPI endpoint, one statement",
                    )
                )
    return found


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="SECONDS", help="profile Rapport's POST"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    layers = None
    with bench_database(args.db) as (url, workdir):
        tenant, key = asyncio.run(prepare(url))
        env = server_env(url, workdir, BENCH_TENANT=str(tenant))
        results = alternate(
            url, tenant, key, env, sizes, args.rounds, args.seconds, args.connections
        )
        if args.profile:
            layers = profile_create(env, key, args)

    print(
        f"POST and PATCH /api/v1/contacts  db={args.db} connections={args.connections} "
        f"seconds={args.seconds} rounds={args.rounds} (medians)"
    )
    print(
        f"{'size':>8} {'op':<6}{'base req/s':>11}{'req/s':>8}{'ratio':>7}"
        f"{'base CPU ms':>12}{'CPU ms':>8}{'base p99':>9}{'p50 ms':>8}{'p99 ms':>9}{'non-2xx':>8}"
    )
    cost: dict[tuple[int, str], float] = {}
    for size in sizes:
        for operation in ("POST", "PATCH"):
            base = _medians(results[(size, operation, "baseline")])
            ours = _medians(results[(size, operation, "rapport")])
            cost[(size, operation)] = ours["cpu_ms"]
            print(
                f"{size:>8} {operation:<6}{base['rps']:>11.0f}{ours['rps']:>8.0f}"
                f"{ours['rps'] / base['rps']:>7.2f}{base['cpu_ms']:>12.2f}{ours['cpu_ms']:>8.2f}"
                f"{base['p99_ms']:>9.1f}{ours['p50_ms']:>8.1f}{ours['p99_ms']:>9.1f}"
                f"{ours['non2xx']:>8.0f}"
            )
    for operation in ("POST", "PATCH"):
        growth = cost[(sizes[-1], operation)] / cost[(sizes[0], operation)]
        print(f"{operation} CPU per request at {sizes[-1]} / at {sizes[0]}: {growth:.2f}")
    if layers is not None:
        print(f"where Rapport's CPU goes in POST ({args.profile} s, py-spy):")
        print(profile.report(layers))


def _medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def profile_create(env: dict[str, str], key: str, args: argparse.Namespace) -> profile.Counter[str]:
    import concurrent.futures

    port = free_port()
    process = serve("rapport.app:create_app", port, 1, env)
    try:
        wrk_lua(port, create_lua(key), 2, args.connections)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            load = pool.submit(wrk_lua, port, create_lua(key), args.profile + 2, args.connections)
            stacks = profile.record(process.pid, args.profile)
            load.result()
        Path(tempfile.gettempdir(), "rapport-post-profile.txt").write_text(stacks)
        return profile.layers(stacks)
    finally:
        stop(process)


if __name__ == "__main__":
    main()
