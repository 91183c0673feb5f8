"""What recipients and their mail servers tell: opens (the image), clicks (redirects signed per
link), bounces and complaints (JSON, or the servers' own DSN and ARF reports), and the stats
counted from them, exact against the message rows."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import CampaignInteraction, CampaignMessage
from rapport.worker.loop import Worker
from tests.campaigns.conftest import API, body_of, call, maildir_messages
from tests.helpers import EVERY_WORKSPACE, Workspace, assert_error, events_of_type, snapshot
from tests.webhooks.conftest import drain

pytestmark = pytest.mark.usefixtures("app")

HTML = (
    "<html><body><p>Hi {{ contact.givenName }}</p>"
    '<p><a href="https://shop.example/spring?utm=mail&amp;x=1">Shop</a> '
    '<a href="https://blog.example/post">Read</a> '
    '<a href="mailto:help@acme.example">Help</a> '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
)


@pytest.fixture
async def sent(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> dict[str, Any]:
    """A campaign sent to three subscribed contacts; its id and each one's message."""
    emails = ["ada@example.com", "bob@example.com", "cy@example.com"]
    ids = []
    for email in emails:
        contact = await call(
            http, workspace, "POST", "/contacts", {"email": email, "givenName": email[:3]}, 201
        )
        ids.append(contact["id"])
        await call(
            http,
            workspace,
            "PUT",
            f"/contacts/{contact['id']}/subscriptions/email",
            {"status": "subscribed"},
        )
    campaign = await call(
        http,
        workspace,
        "POST",
        "/campaigns",
        {
            "name": "Tracked",
            "subject": "Spring",
            "htmlBody": HTML,
            "fromAddress": "news@acme.example",
            "audience": {"filter": "email exists"},
        },
        201,
    )
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    await drain(worker)
    messages = {str(m["To"]): m for m in maildir_messages(tmp_path, workspace)}
    assert sorted(messages) == emails
    return {
        "id": campaign["id"],
        "messages": messages,
        "contacts": dict(zip(emails, ids, strict=True)),
    }


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_of(message: Any) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', body_of(message))]


def pixel_of(message: Any) -> str:
    found = re.search(r'<img src="([^"]+/email/open/[^"]+)"', body_of(message))
    assert found is not None
    return unescape(found.group(1))


async def stats(http: httpx.AsyncClient, ws: Workspace, campaign_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await call(http, ws, "GET", f"/campaigns/{campaign_id}/stats")
    return data


async def test_links_to_the_web_go_through_a_signed_redirect_and_count_clicks(
    http: httpx.AsyncClient, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada = sent["messages"]["ada@example.com"]
    shop, blog, mailto, unsubscribe = links_of(ada)
    assert "/email/click/" in shop
    assert "/email/click/" in blog
    assert mailto == "mailto:help@acme.example"
    assert "/email/unsubscribe/" in unsubscribe
    assert parse_qs(urlsplit(shop).query)["url"] == ["https://shop.example/spring?utm=mail&x=1"]
    assert "https://shop.example/spring" in body_of(ada, "plain")

    first = await http.get(local(shop))
    again = await http.get(local(shop))
    other = await http.get(local(blog))

    assert first.status_code == again.status_code == other.status_code == 302
    assert first.headers["location"] == "https://shop.example/spring?utm=mail&x=1"
    figures = await stats(http, workspace, sent["id"])
    assert (figures["clickedUnique"], figures["clickedTotal"]) == (1, 3)
    assert figures["openedUnique"] == 1  # a click is an open too
    assert figures["links"] == [
        {"url": "https://shop.example/spring?utm=mail&x=1", "clickedUnique": 1, "clickedTotal": 2},
        {"url": "https://blog.example/post", "clickedUnique": 1, "clickedTotal": 1},
    ]
    clicks = await events_of_type(http, workspace, "email.clicked")
    assert [c["data"]["first"] for c in clicks] == [False, False, True]
    assert clicks[0]["data"]["contactId"] == sent["contacts"]["ada@example.com"]


async def test_a_click_link_leads_only_where_the_message_pointed(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    shop = links_of(sent["messages"]["ada@example.com"])[0]
    token = urlsplit(shop).path.rsplit("/", 1)[1]
    before = await snapshot(database)

    for path in (
        f"/email/click/{token}?url=https://evil.example/",
        f"/email/click/{token}",
        f"/email/click/{token[:-3]}?url=https://shop.example/spring?utm=mail%26x=1",
    ):
        response = await http.get(path)
        assert response.status_code == 404, path
        assert "location" not in response.headers
    assert await snapshot(database) == before


async def test_the_open_pixel_counts_each_open_and_the_first_once(
    http: httpx.AsyncClient, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada = pixel_of(sent["messages"]["ada@example.com"])
    bob = pixel_of(sent["messages"]["bob@example.com"])

    for url in (ada, ada, bob):
        response = await http.get(local(url))
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.headers["cache-control"] == "no-store"
    assert (await http.get(local(ada)[:-2])).status_code == 404

    figures = await stats(http, workspace, sent["id"])
    assert (figures["openedUnique"], figures["openedTotal"]) == (2, 3)
    assert figures["rates"]["open"] == round(2 / 3, 4)
    assert sum(bucket["opened"] for bucket in figures["timeline"]) == 3
    assert sum(bucket["sent"] for bucket in figures["timeline"]) == 3
    recipients = await call(http, workspace, "GET", f"/campaigns/{sent['id']}/recipients")
    opened = {r["email"]: r["openedAt"] is not None for r in recipients}
    assert opened == {"ada@example.com": True, "bob@example.com": True, "cy@example.com": False}
    timeline = await call(
        http, workspace, "GET", f"/contacts/{sent['contacts']['ada@example.com']}/timeline"
    )
    types = [item["event"]["type"] for item in timeline if item["kind"] == "event"]
    assert types[:3] == ["email.opened", "email.opened", "email.sent"]


async def test_a_campaign_can_go_untracked(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> None:
    contact = await call(http, workspace, "POST", "/contacts", {"email": "di@example.com"}, 201)
    await call(
        http,
        workspace,
        "PUT",
        f"/contacts/{contact['id']}/subscriptions/email",
        {"status": "subscribed"},
    )
    campaign = await call(
        http,
        workspace,
        "POST",
        "/campaigns",
        {
            "name": "Quiet",
            "subject": "Hi",
            "htmlBody": HTML,
            "fromAddress": "news@acme.example",
            "audience": {"filter": "email exists"},
            "trackOpens": False,
            "trackClicks": False,
        },
        201,
    )
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    await drain(worker)
    [message] = maildir_messages(tmp_path, workspace)
    assert "/email/open/" not in body_of(message)
    assert links_of(message)[0] == "https://shop.example/spring?utm=mail&x=1"


async def test_a_hard_bounce_suppresses_the_address_and_sets_the_status(
    http: httpx.AsyncClient, workspace: Workspace, sent: dict[str, Any]
) -> None:
    bob = sent["messages"]["bob@example.com"]
    report = await call(
        http,
        workspace,
        "POST",
        "/email-feedback",
        {"type": "bounce", "bounceType": "hard", "messageId": bob["Message-ID"], "reason": "550"},
    )

    assert report["campaignId"] == sent["id"]
    assert report["contactIds"] == [sent["contacts"]["bob@example.com"]]
    assert report["suppressed"] is True
    consent = await call(
        http, workspace, "GET", f"/contacts/{report['contactIds'][0]}/subscriptions/email"
    )
    assert consent["status"] == "bounced"
    suppressed = await call(http, workspace, "GET", "/suppressions", None)
    assert [(s["email"], s["reason"]) for s in suppressed] == [("bob@example.com", "bounced")]
    figures = await stats(http, workspace, sent["id"])
    assert figures["bounced"] == {"total": 1, "hard": 1, "soft": 0}
    assert figures["delivered"] == 2
    assert len(await events_of_type(http, workspace, "email.bounced")) == 1
    # A one-to-one email is refused to a suppressed address too.
    response = await http.post(
        f"{API}/outbound-email",
        json={
            "contactId": report["contactIds"][0],
            "connectionId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b",
            "subject": "Hi",
            "htmlBody": "<p>Hi</p>",
        },
        headers=workspace.headers,
    )
    assert_error(response, 409, "EMAIL_SUPPRESSED")


async def test_soft_bounces_count_until_the_third(
    http: httpx.AsyncClient, workspace: Workspace, sent: dict[str, Any]
) -> None:
    body = {"type": "bounce", "bounceType": "soft", "email": "cy@example.com"}
    first = await call(http, workspace, "POST", "/email-feedback", body)
    assert first["suppressed"] is False
    figures = await stats(http, workspace, sent["id"])
    assert figures["bounced"] == {"total": 1, "hard": 0, "soft": 1}
    consent = await call(
        http,
        workspace,
        "GET",
        f"/contacts/{sent['contacts']['cy@example.com']}/subscriptions/email",
    )
    assert consent["status"] == "subscribed"


DSN = """\
From: MAILER-DAEMON@mx.example
To: news@acme.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; {email}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--b1
Content-Type: text/rfc822-headers

Message-ID: {message_id}
From: news@acme.example
To: {email}
Subject: Spring

--b1--
"""

ARF = """\
From: abuse@provider.example
To: news@acme.example
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b2"

--b2
Content-Type: text/plain

This is an abuse report.

--b2
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Provider/1.0
Version: 1
Original-Rcpt-To: {email}

--b2
Content-Type: message/rfc822

Message-ID: {message_id}
From: news@acme.example
To: {email}
Subject: Spring

Hi

--b2--
"""


async def test_a_dsn_is_a_bounce_and_an_arf_report_a_complaint(
    http: httpx.AsyncClient, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada = sent["messages"]["ada@example.com"]
    cy = sent["messages"]["cy@example.com"]
    headers = {**workspace.headers, "Content-Type": "message/rfc822"}

    bounce = await http.post(
        f"{API}/email-feedback/reports",
        content=DSN.format(email="ada@example.com", message_id=ada["Message-ID"]).encode(),
        headers=headers,
    )
    complaint = await http.post(
        f"{API}/email-feedback/reports",
        content=ARF.format(email="cy@example.com", message_id=cy["Message-ID"]).encode(),
        headers=headers,
    )

    assert bounce.status_code == 200, bounce.text
    assert bounce.json()["data"]["type"] == "bounce"
    assert bounce.json()["data"]["bounceType"] == "hard"
    assert bounce.json()["data"]["email"] == "ada@example.com"
    assert complaint.status_code == 200, complaint.text
    assert complaint.json()["data"]["type"] == "complaint"
    figures = await stats(http, workspace, sent["id"])
    assert figures["bounced"]["hard"] == 1
    assert figures["complained"] == 1
    status = await call(
        http,
        workspace,
        "GET",
        f"/contacts/{sent['contacts']['cy@example.com']}/subscriptions/email",
    )
    assert status["status"] == "complained"


async def test_a_body_that_is_no_report_is_refused_and_nothing_changes(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    before = await snapshot(database)
    for content in (b"", b"hello", b"Content-Type: text/plain\n\nhi"):
        response = await http.post(
            f"{API}/email-feedback/reports",
            content=content,
            headers={**workspace.headers, "Content-Type": "message/rfc822"},
        )
        assert_error(response, 400, "INVALID_REPORT")
    nothing = await http.post(
        f"{API}/email-feedback", json={"type": "bounce"}, headers=workspace.headers
    )
    assert_error(nothing, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_engagement_and_consent_are_query_fields(
    http: httpx.AsyncClient, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada = sent["messages"]["ada@example.com"]
    await http.get(local(pixel_of(ada)))
    await http.get(local(links_of(sent["messages"]["bob@example.com"])[0]))
    await call(
        http, workspace, "POST", "/email-feedback", {"type": "complaint", "email": "cy@example.com"}
    )

    async def emails(where: str) -> list[str]:
        found = await call(http, workspace, "POST", "/query", {"entity": "contact", "where": where})
        return sorted(c["email"] for c in found)

    campaign = sent["id"]
    assert await emails(f"campaignOpened = {campaign}") == ["ada@example.com", "bob@example.com"]
    assert await emails(f"campaignClicked = {campaign}") == ["bob@example.com"]
    assert await emails("campaignSent exists AND NOT campaignOpened exists") == ["cy@example.com"]
    assert await emails("emailStatus = complained") == ["cy@example.com"]
    assert await emails("emailStatus in (subscribed)") == ["ada@example.com", "bob@example.com"]


async def test_engagement_counts_take_a_window(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    await http.get(local(pixel_of(sent["messages"]["ada@example.com"])))
    await http.get(local(links_of(sent["messages"]["bob@example.com"])[0]))
    await call(http, workspace, "POST", "/contacts", {"email": "dee@example.com"}, 201)
    # Ada's open long ago: it counts in all time, not in the last 90 days.
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.email == "ada@example.com")
            .values(opened_at=utcnow() - timedelta(days=120))
        )

    async def emails(where: str) -> list[str]:
        found = await call(http, workspace, "POST", "/query", {"entity": "contact", "where": where})
        return sorted(c["email"] for c in found)

    assert await emails("emailsOpened > 0") == ["ada@example.com", "bob@example.com"]
    assert await emails("emailsOpened > 0 within last 90 days") == ["bob@example.com"]
    assert await emails("emailsOpened between 1 and 3 in the last 2 weeks") == ["bob@example.com"]
    assert await emails("emailsClicked >= 1 within last 1 days") == ["bob@example.com"]
    assert await emails("emailsOpened < 1 within last 90 days") == [
        "ada@example.com",
        "cy@example.com",
        "dee@example.com",
    ]
    assert await emails("emailsSent = 1 AND emailsOpened = 0") == ["cy@example.com"]
    assert await emails("emailsSent < 1") == ["dee@example.com"]
    as_json = {
        "entity": "contact",
        "filter": {
            "conditions": [
                {"field": "emailsOpened", "operator": "gt", "value": 0, "within": "90 days"}
            ]
        },
    }
    found = await call(http, workspace, "POST", "/query", as_json)
    assert [c["email"] for c in found] == ["bob@example.com"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"where": "email = 'a@example.com' within last 9 days"}, "where"),
        ({"where": "createdAt > '2020-01-01' within last 9 days"}, "where"),
        (
            {
                "filter": {
                    "conditions": [
                        {"field": "emailsOpened", "operator": "gt", "value": 0, "within": "soon"}
                    ]
                }
            },
            "filter.conditions[0].within",
        ),
    ],
)
async def test_a_window_on_what_is_not_a_count_is_refused(
    http: httpx.AsyncClient, workspace: Workspace, body: dict[str, Any], field: str
) -> None:
    response = await http.post(
        f"{API}/query", json={"entity": "contact", **body}, headers=workspace.headers
    )
    error = assert_error(response, 400, "INVALID_QUERY")
    assert field in str(error), error


async def counted_from_rows(database: Database, campaign_id: str) -> dict[str, Any]:
    """The figures of the stats counted again from the message and interaction rows."""
    campaign = uuid.UUID(campaign_id)
    async with database.session(platform=EVERY_WORKSPACE) as session:
        messages = (
            (
                await session.execute(
                    select(CampaignMessage).where(CampaignMessage.campaign_id == campaign)
                )
            )
            .scalars()
            .all()
        )
        interactions = (
            (
                await session.execute(
                    select(CampaignInteraction).where(CampaignInteraction.campaign_id == campaign)
                )
            )
            .scalars()
            .all()
        )
    status = Counter(m.status.value for m in messages)
    bounces = Counter(m.bounce_type.value for m in messages if m.bounce_type)
    kinds = Counter(i.kind.value for i in interactions)
    clicks = [i for i in interactions if i.url is not None]
    return {
        "recipients": len(messages),
        **{name: status[name] for name in ("queued", "sent", "failed", "skipped")},
        "bounced": {
            "total": sum(bounces.values()),
            "hard": bounces["hard"],
            "soft": bounces["soft"],
        },
        "openedUnique": sum(m.opened_at is not None for m in messages),
        "openedTotal": kinds["opened"],
        "clickedUnique": sum(m.clicked_at is not None for m in messages),
        "clickedTotal": kinds["clicked"],
        "unsubscribed": sum(m.unsubscribed_at is not None for m in messages),
        "complained": sum(m.complained_at is not None for m in messages),
        "links": sorted(
            (
                {
                    "url": url,
                    "clickedUnique": len({i.message_id for i in clicks if i.url == url}),
                    "clickedTotal": sum(i.url == url for i in clicks),
                }
                for url in {i.url for i in clicks}
            ),
            key=lambda link: (-link["clickedTotal"], link["url"]),
        ),
        "sentByHour": sum(m.sent_at is not None for m in messages),
    }


async def test_the_figures_are_exactly_the_rows_after_a_mixed_history(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada, bob, cy = (sent["messages"][f"{name}@example.com"] for name in ("ada", "bob", "cy"))
    bob_links = links_of(bob)
    # Opens and clicks at once, some of them the same link of the same message.
    await asyncio.gather(
        http.get(local(pixel_of(ada))),
        http.get(local(pixel_of(ada))),
        *(http.get(local(bob_links[0])) for _ in range(3)),
        http.get(local(links_of(cy)[0])),
    )
    for body in (
        {"type": "bounce", "bounceType": "soft", "email": "cy@example.com"},
        {"type": "bounce", "bounceType": "hard", "email": "cy@example.com"},
        {"type": "bounce", "bounceType": "soft", "email": "cy@example.com"},
        {"type": "complaint", "email": "bob@example.com"},
        {"type": "complaint", "email": "bob@example.com"},
    ):
        await call(http, workspace, "POST", "/email-feedback", body)
    unsubscribe = next(link for link in links_of(ada) if "/email/unsubscribe/" in link)
    for _ in range(2):
        await http.post(local(unsubscribe))

    figures = await stats(http, workspace, sent["id"])
    expected = await counted_from_rows(database, sent["id"])

    assert sum(bucket["sent"] for bucket in figures["timeline"]) == expected.pop("sentByHour")
    assert {key: figures[key] for key in expected} == expected
    assert expected["clickedTotal"] == 4
    assert expected["bounced"] == {"total": 1, "hard": 1, "soft": 0}
    assert sum(bucket["clicked"] for bucket in figures["timeline"]) == 4
    campaign = await call(http, workspace, "GET", f"/campaigns/{sent['id']}")
    assert campaign["counts"]["sent"] == expected["sent"]
