"""Fixtures of mail tests: a real SMTP server on loopback, an API that may reach it (a
development server's), and a worker that may too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from rapport.domains import TASK_MODULES
from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import custom_client, make_settings
from tests.mail.server import Certificate, MailServer, running_mail_server


@pytest.fixture
def mail_server(smtp_certificate: Certificate) -> Iterator[MailServer]:
    """A server offering STARTTLS (which clients trust only within `trusting`)."""
    with running_mail_server(smtp_certificate) as server:
        yield server


@pytest.fixture
def tls_mail_server(smtp_certificate: Certificate) -> Iterator[MailServer]:
    """A server speaking TLS from the start."""
    with running_mail_server(smtp_certificate, implicit_tls=True) as server:
        yield server


@pytest.fixture
async def dev_client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a development server: SMTP servers may be on loopback addresses."""
    async with custom_client(database, tmp_path, allow_private_smtp=True) as http:
        yield http


@pytest.fixture
def worker(database: Database, tmp_path: Path) -> Worker:
    """A worker that may reach SMTP servers on loopback."""
    settings = make_settings(tmp_path, allow_private_smtp=True)
    return Worker(database, task_modules=TASK_MODULES, settings=settings, lease_seconds=30)
