"""Fixtures of campaign tests: an API and a worker sharing one data directory (the local
maildir lives there) that may reach an SMTP server on loopback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.domains import TASK_MODULES
from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import Workspace, custom_client, make_settings
from tests.mail.conftest import mail_server

__all__ = ["mail_server"]

API = "/api/v1"


@pytest.fixture
async def http(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with custom_client(
        database, tmp_path, allow_private_smtp=True, rate_limits_enabled=False
    ) as client:
        yield client


@pytest.fixture
def worker(database: Database, tmp_path: Path) -> Worker:
    settings = make_settings(tmp_path, allow_private_smtp=True)
    return Worker(database, task_modules=TASK_MODULES, settings=settings, lease_seconds=30)


async def call(
    http: httpx.AsyncClient,
    ws: Workspace,
    method: str,
    path: str,
    body: Any = None,
    status: int = 200,
) -> Any:
    response = await http.request(method, f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code == status, response.text
    return response.json()["data"] if response.content else None


def maildir_messages(tmp_path: Path, ws: Workspace, *, bulk: bool = True) -> list[EmailMessage]:
    """The messages written to the workspace's local maildir, by recipient; a `bulk` one
    names its unsubscribe link as is, on one header line (not as an encoded word)."""
    found = []
    for path in sorted((tmp_path / "maildir" / str(ws.id) / "new").glob("*.eml")):
        raw = path.read_bytes()
        assert not bulk or re.search(
            rb"\nList-Unsubscribe: <https?://[^>\s]+/email/unsubscribe/[^>\s]+>", raw
        )
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return sorted(found, key=lambda m: str(m["To"]))


def body_of(message: EmailMessage, subtype: str = "html") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content: str = part.get_content()
    return content
