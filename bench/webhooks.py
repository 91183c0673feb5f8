"""Webhook fan-out: N events of one workspace to one local receiver, delivered by `rapport
worker` processes (1 and 2 on PostgreSQL, 1 on SQLite); deliveries/s from the first event
dispatched to the last delivery acknowledged. Baseline in the same run: the same number of
signed POSTs of the same bodies to the same receiver straight from httpx, 32 at a time
(the HTTP work alone, without dispatch, ordering, logging or retries).

    .venv/bin/python -m bench.webhooks [--events 10000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

from bench.databases import DATABASE_CHOICES, run_on
from bench.figures import DIALECTS, Figure, collect_on
from rapport.domains import install
from rapport.events.service import EventRecorder
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.migrate import upgrade
from rapport.models import DeliveryStatus, WebhookDelivery
from rapport.tenancy.service import WorkspaceService
from rapport.webhooks.schemas import WebhookCreate
from rapport.webhooks.service import WebhookService
from rapport.webhooks.signing import new_secret, signature

ROOT = Path(__file__).resolve().parent.parent
RAPPORT = Path(sys.executable).parent / "rapport"
CONCURRENCY = 32
SECRET_KEY = "bench-secret-key-" + "x" * 40  # the seed and the workers encrypt alike


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_receiver(port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "bench.receiver:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        cwd=ROOT,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.post(f"http://127.0.0.1:{port}/")
                return process
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the receiver did not start")


async def baseline(url: str, count: int) -> float:
    """Signed POSTs/s straight from httpx, CONCURRENCY at a time over kept-alive connections."""
    secret = new_secret()
    body = b'{"type": "contact.created", "data": {"record": {"email": "a@example.com"}}}'
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            stamp = int(time.time())
            headers = {"Rapport-Signature": signature(secret, stamp, body)}
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(sender(client) for _ in range(CONCURRENCY)))
        return count / (time.perf_counter() - started)


async def seed(database: Database, url: str, count: int) -> None:
    """A workspace subscribed to `contact.*`, and `count` events of distinct contacts."""
    async with database.transaction(platform="benchmark set-up and checks") as session:
        tenant = (await WorkspaceService(session).create("Bench")).id
        webhooks = WebhookService(
            Context.bound(session, tenant), allow_private=True, secret_key=SECRET_KEY
        )
        await webhooks.create(WebhookCreate(url=url, event_types=["contact.*"]))
    for offset in range(0, count, 500):
        async with database.transaction(platform="benchmark set-up and checks") as session:
            recorder = EventRecorder(Context.bound(session, tenant))
            for n in range(offset, min(count, offset + 500)):
                contact = uuid.uuid4()
                record = {"id": str(contact), "email": f"c{n}@example.com", "name": f"C {n}"}
                recorder.record("contact.created", "contact", contact, {"record": record})


async def run_workers(database: Database, count: int, workers: int) -> float:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": database.url,
        "RAPPORT_ALLOW_PRIVATE_WEBHOOKS": "1",
        "RAPPORT_SECRET_KEY": SECRET_KEY,
        "RAPPORT_LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            str(RAPPORT),
            "worker",
            "--concurrency",
            str(CONCURRENCY),
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            async with database.session(platform="benchmark set-up and checks") as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == DeliveryStatus.SUCCEEDED)
                )
            if done == count:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
    return count / elapsed


async def clear(database: Database) -> None:
    async with database.transaction(platform="benchmark set-up and checks") as session:
        for table in ("webhook_attempts", "webhook_deliveries", "jobs", "events", "webhooks"):
            await session.execute(text(f"DELETE FROM {table}"))
        await session.execute(text("DELETE FROM tenants"))


async def scenario(
    url: str, count: int, worker_counts: tuple[int, ...], figures: list[Figure] | None = None
) -> list[str]:
    database = Database(url)
    await upgrade(database)
    port = free_port()
    receiver = await start_receiver(port)
    hook_url = f"http://127.0.0.1:{port}/hook"
    lines = []
    try:
        floor = await baseline(hook_url, count)
        lines.append(
            f"  baseline (signed POSTs from httpx, {CONCURRENCY} at a time): {floor:7.0f} req/s"
        )
        for workers in worker_counts:
            await clear(database)
            await seed(database, hook_url, count)
            rate = await run_workers(database, count, workers)
            lines.append(
                f"  {workers} worker(s): {rate:7.0f} deliveries/s  ratio to baseline "
                f"{rate / floor:.2f}"
            )
            if figures is not None:
                figures.append(
                    Figure(
                        "webhooks",
                        DIALECTS[database.dialect],
                        f"deliveries, {workers} worker(s)",
                        rate,
                        "req/s",
                        floor,
                        f"signed POSTs from httpx, {CONCURRENCY} at a time",
                    )
                )
        await clear(database)
    finally:
        receiver.send_signal(signal.SIGTERM)
        await receiver.wait()
        await database.dispose()
    return lines


def worker_counts(dialect: str) -> tuple[int, ...]:
    return (1, 2) if dialect == "postgresql" else (1,)


def figures(databases: str = "both", events: int = 10_000) -> list[Figure]:
    async def collect(url: str, dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, events, worker_counts(dialect), found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--db", choices=DATABASE_CHOICES, default="both")
    args = parser.parse_args()
    run_on(
        args.db,
        f"{args.events} events to one local receiver",
        lambda url, dialect: scenario(url, args.events, worker_counts(dialect)),
    )


if __name__ == "__main__":
    main()
