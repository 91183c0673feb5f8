"""Fixtures of privacy tests: a person with data of every kind (the SMTP server and webhook
receiver on loopback, so that an email is sent and deliveries are made)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.domains import TASK_MODULES
from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import Workspace, add_member, custom_client, key_of_user, make_settings
from tests.mail.server import Certificate, MailServer, running_mail_server
from tests.webhooks.receiver import Receiver, running_receiver

API = "/api/v1"

PERSONAL = (
    "Ada",
    "Lovelace",
    "ada@example.com",
    "ada.old@example.com",
    "+14155552671",
    "ada-ext",
    "London",
    "Pricing call",
    "likes tea",
    "Call Ada",
    "hs-ada",
    "Your proposal",
)
"""Every piece of the person's data the fixture writes, none of which may survive erasure."""


@pytest.fixture
def mail_server(smtp_certificate: Certificate) -> Iterator[MailServer]:
    with running_mail_server(smtp_certificate) as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def dev_client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a development server: SMTP servers and webhooks may be on loopback."""
    async with custom_client(
        database, tmp_path, allow_private_smtp=True, allow_private_webhooks=True
    ) as http:
        yield http


@pytest.fixture
def worker(database: Database, tmp_path: Path) -> Worker:
    settings = make_settings(tmp_path, allow_private_smtp=True, allow_private_webhooks=True)
    return Worker(database, task_modules=TASK_MODULES, settings=settings, lease_seconds=30)


async def drain(worker: Worker) -> None:
    for _ in range(50):
        if await worker.run_once() == 0:
            return
    raise AssertionError("jobs kept coming")


@dataclass
class Person:
    """The ids of everything made about the person (and of a bystander's records)."""

    ids: dict[str, str] = field(default_factory=dict)
    user_headers: dict[str, str] = field(default_factory=dict)


async def post(
    http: httpx.AsyncClient, headers: dict[str, str], path: str, body: Any, status: int = 201
) -> dict[str, Any]:
    response = await http.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def get(http: httpx.AsyncClient, headers: dict[str, str], path: str) -> Any:
    response = await http.get(f"{API}{path}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
async def person(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    receiver: Receiver,
    worker: Worker,
) -> Person:
    """Ada, with an older record merged into hers, a company, a tag, activities, a note, a
    task, a lead, a list, a sync link, an email sent to her, and webhook deliveries of all of
    it; Grace, a bystander, with an activity of her own."""
    http, admin = dev_client, workspace.headers
    user = await add_member(database, workspace, "seller@example.com")
    made = Person(user_headers=await key_of_user(database, workspace, user))
    seller = made.user_headers
    hook = await post(http, admin, "/webhooks", {"url": receiver.url(), "eventTypes": ["*"]})
    ada = await post(
        http,
        admin,
        "/contacts",
        {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": "+14155552671",
            "externalId": "ada-ext",
            "properties": {"city": "London"},
        },
    )
    old = await post(http, admin, "/contacts", {"email": "ada.old@example.com", "name": "Ada L."})
    await post(http, admin, f"/contacts/{ada['id']}/merge", {"loserId": old["id"]}, 200)
    grace = await post(http, admin, "/contacts", {"email": "grace@example.com", "name": "Grace"})
    company = await post(http, admin, "/companies", {"name": "Engines Ltd"})
    membership = await post(
        http,
        admin,
        f"/contacts/{ada['id']}/company-memberships",
        {"companyId": company["id"], "role": "Analyst"},
    )
    tag = await post(http, admin, "/tags", {"key": "vip", "name": "VIP"})
    await post(http, admin, f"/contacts/{ada['id']}/tags", {"tagId": tag["id"]})
    call = await post(
        http,
        seller,
        "/activities",
        {"type": "CALL", "contactId": ada["id"], "subject": "Pricing call", "content": "Ada"},
    )
    note = await post(http, seller, f"/contacts/{ada['id']}/notes", {"content": "She likes tea"})
    bystander = await post(
        http, seller, "/activities", {"type": "CALL", "contactId": grace["id"], "subject": "Hi"}
    )
    task = await post(http, admin, "/tasks", {"title": "Call Ada back", "contactId": ada["id"]})
    lead = await post(
        http,
        admin,
        "/leads",
        {"title": "Engines deal", "value": "1200.00", "currency": "USD", "contactId": ada["id"]},
    )
    segment = await post(http, admin, "/lists", {"name": "Newsletter", "entityType": "CONTACT"})
    await post(
        http, admin, f"/lists/{segment['id']}/members", {"entityIds": [ada["id"]]}, status=200
    )
    response = await http.put(
        f"{API}/contacts/{ada['id']}/sync-status/hubspot-main",
        json={"provider": "HUBSPOT", "externalId": "hs-ada"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    connection = await post(http, admin, "/outbound-email-connections", mail_server.connection())
    email = await post(
        http,
        admin,
        "/outbound-email",
        {
            "contactId": ada["id"],
            "connectionId": connection["id"],
            "subject": "Your proposal",
            "htmlBody": "<p>Dear Ada, here it is.</p>",
        },
        status=202,
    )
    response = await http.put(
        f"{API}/contacts/{ada['id']}/subscriptions/email",
        json={"status": "subscribed", "source": "signup form"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    campaign = await post(
        http,
        admin,
        "/campaigns",
        {
            "name": "Newsletter",
            "subject": "News for {{ contact.givenName }}",
            "htmlBody": "<p>News</p>",
            "fromAddress": "news@acme.example",
            "connectionId": connection["id"],
            "audience": {"includeLists": [segment["id"]]},
        },
    )
    await post(http, admin, f"/campaigns/{campaign['id']}/send", {}, status=200)
    await drain(worker)
    assert len(mail_server.received) == 2
    made.ids = {
        "ada": ada["id"],
        "old": old["id"],
        "grace": grace["id"],
        "membership": membership["id"],
        "tag": tag["id"],
        "call": call["id"],
        "note": note["id"],
        "bystander": bystander["id"],
        "task": task["id"],
        "lead": lead["id"],
        "list": segment["id"],
        "email": email["id"],
        "campaign": campaign["id"],
        "webhook": hook["id"],
    }
    return made
