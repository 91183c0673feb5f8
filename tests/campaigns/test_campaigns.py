"""Campaigns: drafts checked whole, sending through durable jobs to the consenting part of a
frozen audience (into the local maildir, or a real SMTP server), each recipient once, with
the unsubscribe headers and link."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from rapport.auth.scopes import Scope
from rapport.campaigns.sender import CampaignSender, Pace
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import CampaignMessage, Job, JobState, OutboundEmailConnection
from rapport.worker.loop import Worker
from tests.campaigns.conftest import API, body_of, call, maildir_messages
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    make_settings,
    snapshot,
)
from tests.mail.server import MailServer
from tests.webhooks.conftest import drain

pytestmark = pytest.mark.usefixtures("app")

HTML = (
    '<p>Hello {{ contact.givenName | default("there") }} of '
    '{{ company.name | default("nowhere") }}</p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)


def draft(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Spring offer",
        "subject": "Spring offer for {{ contact.givenName | default('you') }}",
        "htmlBody": HTML,
        "fromAddress": "news@acme.example",
        "fromName": "Acme",
        "audience": {"filter": "tag = newsletter"},
        **extra,
    }


@pytest.fixture
async def audience(http: httpx.AsyncClient, workspace: Workspace) -> dict[str, dict[str, Any]]:
    """Five tagged contacts: two subscribed, one unsubscribed, one with no consent, one
    subscribed but suppressed; and one subscribed contact outside the audience."""
    people = {}
    tag = await call(http, workspace, "POST", "/tags", {"key": "newsletter", "name": "News"}, 201)
    for key, email, name in (
        ("ada", "ada@example.com", "Ada"),
        ("bob", "bob@example.com", "Bob"),
        ("cy", "cy@example.com", "Cy"),
        ("di", "di@example.com", "Di"),
        ("ed", "ed@example.com", "Ed"),
        ("out", "out@example.com", "Out"),
    ):
        people[key] = await call(
            http, workspace, "POST", "/contacts", {"email": email, "givenName": name}, 201
        )
        if key != "out":
            path = f"/contacts/{people[key]['id']}/tags"
            await call(http, workspace, "POST", path, {"tagId": tag["id"]}, 201)
    for key, status in (
        ("ada", "subscribed"),
        ("bob", "subscribed"),
        ("cy", "unsubscribed"),
        ("ed", "subscribed"),
        ("out", "subscribed"),
    ):
        await call(
            http,
            workspace,
            "PUT",
            f"/contacts/{people[key]['id']}/subscriptions/email",
            {"status": status},
        )
    await call(http, workspace, "POST", "/suppressions", {"email": "ed@example.com"}, 201)
    company = await call(http, workspace, "POST", "/companies", {"name": "Analytical Engines"}, 201)
    await call(
        http,
        workspace,
        "POST",
        f"/contacts/{people['ada']['id']}/companies",
        {"companyId": company["id"], "isPrimary": True},
        201,
    )
    return people


async def test_a_campaign_goes_once_to_each_consenting_member_of_its_audience(
    http: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    audience: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    assert campaign["status"] == "draft"

    scheduled = await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    assert scheduled["status"] == "scheduled"
    await drain(worker)
    await drain(worker)

    done = await call(http, workspace, "GET", f"/campaigns/{campaign['id']}")
    assert done["status"] == "sent"
    assert done["counts"] == {"recipients": 5, "queued": 0, "sent": 2, "failed": 0, "skipped": 3}
    mails = maildir_messages(tmp_path, workspace)
    assert [str(m["To"]) for m in mails] == ["ada@example.com", "bob@example.com"]
    ada, bob = mails
    assert ada["Subject"] == "Spring offer for Ada"
    assert "Hello Ada of Analytical Engines" in body_of(ada)
    assert "Hello Bob of nowhere" in body_of(bob)
    assert "Hello Ada" in body_of(ada, "plain")
    assert ada["Precedence"] == "bulk"
    assert ada["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/email/unsubscribe/" in ada["List-Unsubscribe"]
    assert "mailto:news@acme.example" in ada["List-Unsubscribe"]
    assert ada["Message-ID"] != bob["Message-ID"]

    recipients = await call(http, workspace, "GET", f"/campaigns/{campaign['id']}/recipients")
    reasons = {r["email"]: (r["status"], r["reason"]) for r in recipients}
    assert reasons["ada@example.com"] == ("sent", None)
    assert reasons["cy@example.com"] == ("skipped", "Unsubscribed")
    assert reasons["di@example.com"] == ("skipped", "No email consent recorded")
    assert reasons["ed@example.com"] == ("skipped", "The address is on the suppression list")
    assert "out@example.com" not in reasons
    assert len(await events_of_type(http, workspace, "email.sent")) == 2
    assert len(await events_of_type(http, workspace, "campaign.sent")) == 1


async def test_the_unsubscribe_link_works_once_without_a_login(
    http: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    audience: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    await drain(worker)
    ada = maildir_messages(tmp_path, workspace)[0]
    link = re.search(r"<(http[^>]+/email/unsubscribe/[^>]+)>", str(ada["List-Unsubscribe"]))
    assert link is not None
    path = link.group(1).split("://", 1)[1].split("/", 1)[1]

    page = await http.get(f"/{path}")
    assert page.status_code == 200
    assert "<form" in page.text
    consent = f"/contacts/{audience['ada']['id']}/subscriptions/email"
    assert (await call(http, workspace, "GET", consent))["status"] == "subscribed"

    one_click = await http.post(f"/{path}", data={"List-Unsubscribe": "One-Click"})
    again = await http.post(f"/{path}")

    assert one_click.status_code == again.status_code == 200
    assert (await call(http, workspace, "GET", consent))["status"] == "unsubscribed"
    assert len(await events_of_type(http, workspace, "email.unsubscribed")) == 1
    altered = await http.post(f"/{path[:-2]}")
    assert altered.status_code == 404
    assert altered.headers["content-type"].startswith("text/html")
    assert "not valid" in altered.text


async def test_a_campaign_goes_through_a_real_smtp_server(
    http: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    mail_server: MailServer,
    audience: dict[str, dict[str, Any]],
) -> None:
    connection = await call(
        http, workspace, "POST", "/outbound-email-connections", mail_server.connection(), 201
    )
    campaign = await call(
        http, workspace, "POST", "/campaigns", draft(connectionId=connection["id"]), 201
    )
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    await drain(worker)

    assert sorted(r.recipients[0] for r in mail_server.received) == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert (
        mail_server.received[0].message()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    )
    done = await call(http, workspace, "GET", f"/campaigns/{campaign['id']}")
    assert done["status"] == "sent"
    assert done["counts"]["sent"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"htmlBody": "<p>{{ contact.givenName </p>"}, "htmlBody"),
        ({"subject": "{% if %}"}, "subject"),
        ({"fromAddress": "not an address"}, "fromAddress"),
        ({"audience": {}}, "audience"),
        ({"audience": {"filter": "nosuchfield = 1"}}, "audience.filter"),
        (
            {"audience": {"includeLists": ["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"]}},
            "audience.includeLists",
        ),
        ({"connectionId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"}, "connectionId"),
    ],
)
async def test_a_draft_that_cannot_be_sent_is_refused_and_nothing_is_stored(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    change: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await http.post(f"{API}/campaigns", json=draft(**change), headers=workspace.headers)

    assert response.status_code in (400, 422), response.text
    details = response.json()["error"]["details"]
    assert field in {d["field"] for d in details}, details
    assert await snapshot(database) == before


async def test_only_the_allowed_transitions_happen(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    audience: dict[str, Any],
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    cid = campaign["id"]
    assert_error(
        await http.post(f"{API}/campaigns/{cid}/pause", headers=workspace.headers),
        409,
        "INVALID_STATE",
    )
    scheduled = await call(
        http, workspace, "POST", f"/campaigns/{cid}/send", {"scheduled_at": "2100-01-01T00:00:00Z"}
    )
    assert scheduled["status"] == "scheduled"
    assert scheduled["scheduledAt"].startswith("2100-01-01")
    before = await snapshot(database)
    for method, path, body in (
        ("PATCH", f"/campaigns/{cid}", {"subject": "x"}),
        ("POST", f"/campaigns/{cid}/send", {}),
        ("POST", f"/campaigns/{cid}/resume", None),
        ("DELETE", f"/campaigns/{cid}", None),
    ):
        response = await http.request(method, f"{API}{path}", json=body, headers=workspace.headers)
        error = assert_error(response, 409, "INVALID_STATE")
        assert "scheduled" in error["message"]
    assert await snapshot(database) == before

    paused = await call(http, workspace, "POST", f"/campaigns/{cid}/pause")
    assert paused["status"] == "paused"
    cancelled = await call(http, workspace, "POST", f"/campaigns/{cid}/cancel")
    assert cancelled["status"] == "cancelled"
    await drain(worker)
    assert (await call(http, workspace, "GET", f"/campaigns/{cid}"))["counts"]["sent"] == 0
    await call(http, workspace, "DELETE", f"/campaigns/{cid}", None, 204)
    assert_error(
        await http.get(f"{API}/campaigns/{cid}", headers=workspace.headers), 404, "NOT_FOUND"
    )


async def test_campaigns_need_their_scope_and_stay_in_their_workspace(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    writer = await add_key(database, workspace, [Scope.CRM_READ.value, Scope.CRM_WRITE.value])
    before = await snapshot(database)

    assert_error(
        await http.post(f"{API}/campaigns", json=draft(), headers=writer), 403, "FORBIDDEN"
    )
    for headers, status in ((writer, 403), (other_workspace.headers, 404)):
        response = await http.post(
            f"{API}/campaigns/{campaign['id']}/send", json={}, headers=headers
        )
        assert response.status_code == status, response.text
    assert await snapshot(database) == before


async def test_a_sent_message_is_never_sent_again_by_a_second_run_of_its_chunk(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    audience: dict[str, Any],
    tmp_path: Path,
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    await drain(worker)
    sender = CampaignSender(database, workspace.id, make_settings(tmp_path))
    await sender.send_chunk(uuid.UUID(campaign["id"]), 0)

    assert len(maildir_messages(tmp_path, workspace)) == 2
    async with database.session(platform=EVERY_WORKSPACE) as session:
        rows = (await session.execute(select(CampaignMessage.status))).scalars().all()
    assert sorted(r.value for r in rows).count("sent") == 2


async def send_paced(
    http: httpx.AsyncClient, ws: Workspace, worker: Worker, server: MailServer, rate: float
) -> dict[str, Any]:
    """A campaign sent through a connection of `server` at `rate` messages a second, once
    the worker has run every job that is due."""
    body = server.connection(maxMessagesPerSecond=rate)
    connection = await call(http, ws, "POST", "/outbound-email-connections", body, 201)
    campaign: dict[str, Any] = await call(
        http, ws, "POST", "/campaigns", draft(connectionId=connection["id"]), 201
    )
    await call(http, ws, "POST", f"/campaigns/{campaign['id']}/send", {})
    await drain(worker)
    return campaign


async def test_a_paced_connection_spaces_its_messages(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    mail_server: MailServer,
    audience: dict[str, Any],
) -> None:
    await send_paced(http, workspace, worker, mail_server, 4)

    assert len(mail_server.received) == 2
    async with database.session(platform=EVERY_WORKSPACE) as session:
        sent = sorted(
            (
                await session.execute(
                    select(CampaignMessage.sent_at).where(CampaignMessage.sent_at.is_not(None))
                )
            ).scalars()
        )
    assert (sent[1] - sent[0]).total_seconds() >= 0.2  # a slot every 0.25 s, less jitter


async def test_a_slow_pace_leaves_the_rest_of_a_chunk_to_a_later_job(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    mail_server: MailServer,
    audience: dict[str, Any],
) -> None:
    """One message every 100 s: the job sends the first and, rather than hold its SMTP
    session idle, queues another for the second one's slot."""
    campaign = await send_paced(http, workspace, worker, mail_server, 0.01)

    assert len(mail_server.received) == 1
    waiting = await call(http, workspace, "GET", f"/campaigns/{campaign['id']}")
    assert (waiting["status"], waiting["counts"]["queued"]) == ("sending", 1)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        later = (
            await session.execute(
                select(Job.run_at).where(Job.task == "campaigns.send", Job.state == JobState.QUEUED)
            )
        ).scalar_one()
        assert later > utcnow() + timedelta(seconds=60)
        # The slot's time comes.
        await session.execute(update(Job).values(run_at=utcnow()))
        await session.execute(update(OutboundEmailConnection).values(paced_until=0.0))
    await drain(worker)

    assert len(mail_server.received) == 2
    done = await call(http, workspace, "GET", f"/campaigns/{campaign['id']}")
    assert (done["status"], done["counts"]["sent"]) == ("sent", 2)


async def test_every_sender_through_a_paced_connection_shares_its_slots(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, mail_server: MailServer
) -> None:
    body = mail_server.connection(maxMessagesPerSecond=20)
    connection = await call(http, workspace, "POST", "/outbound-email-connections", body, 201)
    turns: list[float] = []

    async def worker_sending(count: int) -> None:
        pace = Pace(database, workspace.id, uuid.UUID(connection["id"]), 20)
        for left in range(count, 0, -1):
            await pace.turn(left)
            turns.append(time.time())

    await asyncio.gather(worker_sending(5), worker_sending(5))

    turns.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(turns)]
    assert min(gaps) >= 0.04  # 0.05 s a slot, one sender at a time
    assert turns[-1] - turns[0] >= 0.4  # nine slots after the first


async def test_a_test_send_goes_at_once_to_the_addresses_given_and_records_nothing(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    audience: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    before = await snapshot(database)

    sent = await call(
        http,
        workspace,
        "POST",
        f"/campaigns/{campaign['id']}/test-send",
        {"emails": ["me@acme.example", "Boss@Acme.example"], "contactId": audience["ada"]["id"]},
    )

    assert sent["subject"] == "[Test] Spring offer for Ada"
    mails = maildir_messages(tmp_path, workspace, bulk=False)
    assert sorted(str(m["To"]) for m in mails) == ["Boss@acme.example", "me@acme.example"]
    assert all("Hello Ada of Analytical Engines" in body_of(m) for m in mails)
    assert await snapshot(database) == before
    refused = await http.post(
        f"{API}/campaigns/{campaign['id']}/test-send",
        json={"emails": ["me@acme.example", "not an address"]},
        headers=workspace.headers,
    )
    error = assert_error(refused, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "emails[1]"
    assert len(maildir_messages(tmp_path, workspace, bulk=False)) == 2


async def test_a_template_can_be_sent_as_a_test(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    audience: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    template = await call(
        http,
        workspace,
        "POST",
        "/templates",
        {"name": "Welcome", "subject": "Welcome {{ contact.givenName }}", "htmlBody": HTML},
        201,
    )
    path = f"{API}/templates/{template['id']}/test-send"
    before = await snapshot(database)
    refused = await http.post(
        path,
        json={"emails": ["me@acme.example"], "fromAddress": "not an address"},
        headers=workspace.headers,
    )
    assert_error(refused, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before

    sent = await call(
        http,
        workspace,
        "POST",
        f"/templates/{template['id']}/test-send",
        {
            "emails": ["me@acme.example"],
            "contactId": audience["bob"]["id"],
            "fromAddress": "hello@acme.example",
            "fromName": "Acme",
        },
    )

    assert sent == {"emails": ["me@acme.example"], "subject": "[Test] Welcome Bob"}
    [mail] = maildir_messages(tmp_path, workspace, bulk=False)
    assert mail["From"].addresses[0].addr_spec == "hello@acme.example"
    assert "Hello Bob of nowhere" in body_of(mail)
    assert await snapshot(database) == before
