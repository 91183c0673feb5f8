"""A worker process killed with SIGKILL in the middle of a campaign: once another worker has
finished it, every recipient got exactly one message."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from rapport.kit.db import Database
from tests.campaigns.conftest import call
from tests.helpers import TEST_SECRET, Workspace
from tests.mail.server import MailServer

pytestmark = pytest.mark.usefixtures("app")

RAPPORT = Path(sys.executable).parent / "rapport"
ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 120


async def start_worker(database: Database, data_dir: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": database.url,
        "RAPPORT_DATA_DIR": str(data_dir),
        "RAPPORT_SECRET_KEY": TEST_SECRET,
        "RAPPORT_ALLOW_PRIVATE_SMTP": "1",
        "RAPPORT_WORKER_LEASE_SECONDS": "2",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    return await asyncio.create_subprocess_exec(
        str(RAPPORT),
        "worker",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def status_of(http: httpx.AsyncClient, ws: Workspace, campaign_id: str) -> str:
    status: str = (await call(http, ws, "GET", f"/campaigns/{campaign_id}"))["status"]
    return status


async def test_a_killed_worker_sends_nobody_twice_and_skips_nobody(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    mail_server: MailServer,
    tmp_path: Path,
) -> None:
    records = [{"email": f"person{n:03}@example.com"} for n in range(RECIPIENTS)]
    created = await call(http, workspace, "POST", "/contacts/batch", {"records": records})
    members = {"entityIds": [item["id"] for item in created]}
    segment = await call(http, workspace, "POST", "/lists", {"name": "News"}, 201)
    await call(http, workspace, "POST", f"/lists/{segment['id']}/members", members)
    for item in created:
        await call(
            http,
            workspace,
            "PUT",
            f"/contacts/{item['id']}/subscriptions/email",
            {"status": "subscribed"},
        )
    connection = await call(
        http, workspace, "POST", "/outbound-email-connections", mail_server.connection(), 201
    )
    campaign = await call(
        http,
        workspace,
        "POST",
        "/campaigns",
        {
            "name": "Killed",
            "subject": "Hello",
            "htmlBody": "<p>Hello {{ contact.email }}</p>",
            "fromAddress": "news@acme.example",
            "connectionId": connection["id"],
            "audience": {"includeLists": [segment["id"]]},
        },
        201,
    )
    mail_server.data_delay = 0.02
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})

    victim = await start_worker(database, tmp_path)
    survivor = None
    try:
        for _ in range(600):
            if len(mail_server.received) >= RECIPIENTS // 4:
                break
            await asyncio.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        assert len(mail_server.received) < RECIPIENTS
        survivor = await start_worker(database, tmp_path)
        for _ in range(1200):
            if await status_of(http, workspace, campaign["id"]) == "sent":
                break
            await asyncio.sleep(0.05)
    finally:
        for process in (victim, survivor):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()

    assert await status_of(http, workspace, campaign["id"]) == "sent"
    received = Counter(r.recipients[0] for r in mail_server.received)
    assert set(received) == {r["email"] for r in records}
    assert max(received.values()) == 1
