"""Attacks on a campaign's running tallies: whatever happens to its messages (at once or in
any order, refused or not), its stats and counts must equal a recount of its rows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.campaigns.attack_helpers import subscribers
from tests.campaigns.conftest import API, call
from tests.campaigns.test_tracking import (
    counted_from_rows,
    links_of,
    local,
    pixel_of,
    sent,
    stats,
)
from tests.helpers import Workspace, add_key, assert_error, make_workspace, snapshot
from tests.webhooks.conftest import drain

__all__ = ["sent"]

pytestmark = pytest.mark.usefixtures("app")


async def assert_exact(
    http: httpx.AsyncClient, database: Database, ws: Workspace, cid: str
) -> None:
    figures = await stats(http, ws, cid)
    expected = await counted_from_rows(database, cid)
    assert sum(b["sent"] for b in figures["timeline"]) == expected.pop("sentByHour")
    assert {key: figures[key] for key in expected} == expected
    campaign = await call(http, ws, "GET", f"/campaigns/{cid}")
    for key in ("queued", "sent", "failed", "skipped", "recipients"):
        assert campaign["counts"][key] == expected[key], key
    listed = await call(http, ws, "GET", "/campaigns")
    [mine] = [c for c in listed if c["id"] == cid]
    assert mine["counts"] == campaign["counts"]


def feedback(message: Any, **body: Any) -> dict[str, Any]:
    return {"messageId": message["Message-ID"], **body}


async def test_sequential_bounces_complaints_unsubscribes_and_erasure_stay_exact(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada, bob, cy = (sent["messages"][f"{n}@example.com"] for n in ("ada", "bob", "cy"))
    for body in (
        feedback(ada, type="bounce", bounceType="soft"),
        feedback(ada, type="bounce", bounceType="soft"),
        feedback(ada, type="bounce", bounceType="hard"),
        feedback(ada, type="bounce", bounceType="soft"),
        feedback(bob, type="complaint"),
        feedback(bob, type="bounce", bounceType="soft"),
        {"type": "complaint", "email": "cy@example.com"},
        {"type": "bounce", "bounceType": "soft", "email": "nobody@example.com"},
    ):
        await call(http, workspace, "POST", "/email-feedback", body)
    await http.get(local(pixel_of(cy)))
    await http.get(local(links_of(cy)[0]))
    unsubscribe = next(link for link in links_of(cy) if "/email/unsubscribe/" in link)
    await http.post(local(unsubscribe))
    await assert_exact(http, database, workspace, sent["id"])

    # Erasing the people keeps the figures (the rows stay, anonymous).
    for email in ("ada@example.com", "cy@example.com"):
        await call(http, workspace, "POST", f"/contacts/{sent['contacts'][email]}/erase", {})
    await assert_exact(http, database, workspace, sent["id"])
    # Their links still count (or not) consistently after the erasure.
    await http.get(local(pixel_of(cy)))
    await http.get(local(links_of(cy)[1]))
    await http.post(local(unsubscribe))
    await assert_exact(http, database, workspace, sent["id"])
    # Feedback naming an erased message alone names no address: refused, nothing changes.
    before = await snapshot(database)
    response = await http.post(
        f"{API}/email-feedback", json=feedback(cy, type="complaint"), headers=workspace.headers
    )
    assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_bounces_of_one_message_at_once_count_it_once(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada = sent["messages"]["ada@example.com"]
    bob = sent["messages"]["bob@example.com"]

    async def post(body: dict[str, Any]) -> None:
        response = await http.post(f"{API}/email-feedback", json=body, headers=workspace.headers)
        assert response.status_code == 200, response.text

    await asyncio.gather(
        post(feedback(ada, type="bounce", bounceType="soft")),
        post(feedback(ada, type="bounce", bounceType="hard")),
        post(feedback(bob, type="bounce", bounceType="soft")),
        post(feedback(bob, type="bounce", bounceType="soft")),
    )
    await assert_exact(http, database, workspace, sent["id"])


async def test_opens_clicks_complaints_and_unsubscribes_at_once_stay_exact(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    ada = sent["messages"]["ada@example.com"]
    shop, blog, _mailto, unsubscribe = links_of(ada)
    await asyncio.gather(
        *(http.get(local(pixel_of(ada))) for _ in range(3)),
        *(http.get(local(shop)) for _ in range(3)),
        *(http.get(local(blog)) for _ in range(2)),
        *(http.post(local(unsubscribe)) for _ in range(2)),
        *(
            http.post(
                f"{API}/email-feedback",
                json=feedback(ada, type="complaint"),
                headers=workspace.headers,
            )
            for _ in range(2)
        ),
    )
    await assert_exact(http, database, workspace, sent["id"])
    figures = await stats(http, workspace, sent["id"])
    assert figures["openedUnique"] == 1
    assert figures["clickedUnique"] == 1
    assert figures["complained"] == 1
    assert figures["unsubscribed"] == 1
    assert {link["url"]: link["clickedUnique"] for link in figures["links"]} == {
        "https://shop.example/spring?utm=mail&x=1": 1,
        "https://blog.example/post": 1,
    }


async def test_feedback_naming_another_workspaces_message_changes_nothing_there(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    other = await make_workspace(database, "Other")
    ada = sent["messages"]["ada@example.com"]
    before = await stats(http, workspace, sent["id"])
    response = await http.post(
        f"{API}/email-feedback",
        json=feedback(ada, type="bounce", bounceType="hard", email="x@example.com"),
        headers=other.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["campaignId"] is None
    assert await stats(http, workspace, sent["id"]) == before
    # Stats of another workspace's campaign: not found, nothing written.
    state = await snapshot(database)
    response = await http.get(f"{API}/campaigns/{sent['id']}/stats", headers=other.headers)
    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == state


async def test_feedback_and_stats_without_the_campaigns_scope_are_refused(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    headers = await add_key(database, workspace, ["crm:read", "crm:write"])
    ada = sent["messages"]["ada@example.com"]
    before = await snapshot(database)
    for method, path, body in (
        ("POST", "/email-feedback", feedback(ada, type="complaint")),
        ("GET", f"/campaigns/{sent['id']}/stats", None),
        ("GET", f"/campaigns/{sent['id']}", None),
    ):
        response = await http.request(method, f"{API}{path}", json=body, headers=headers)
        assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before


async def test_cancel_and_resume_with_queued_messages_stay_exact(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    people = await subscribers(http, workspace, "P0", "P1", "P2", "P3")
    ids = [person["id"] for person in people.values()]
    body = {
        "name": "Paused",
        "subject": "Hi",
        "htmlBody": "<p>Hi</p>",
        "fromAddress": "news@acme.example",
        "audience": {"filter": "email exists"},
    }
    first = await call(http, workspace, "POST", "/campaigns", {**body, "name": "One"}, 201)
    second = await call(http, workspace, "POST", "/campaigns", {**body, "name": "Two"}, 201)
    for campaign in (first, second):
        await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/send", {})
    # Start both (messages queued), pause them before anything is sent.
    await worker.run_once()
    for campaign in (first, second):
        response = await http.post(
            f"{API}/campaigns/{campaign['id']}/pause", headers=workspace.headers
        )
        assert response.status_code in (200, 409), response.text
    # Erase one recipient while queued, unsubscribe another.
    await call(http, workspace, "POST", f"/contacts/{ids[0]}/erase", {})
    await call(
        http,
        workspace,
        "PUT",
        f"/contacts/{ids[1]}/subscriptions/email",
        {"status": "unsubscribed"},
    )
    for campaign in (first, second):
        await assert_exact(http, database, workspace, campaign["id"])
    cancelled = await http.post(f"{API}/campaigns/{first['id']}/cancel", headers=workspace.headers)
    assert cancelled.status_code in (200, 409), cancelled.text
    if cancelled.status_code == 200:  # the answer counts what the cancel skipped
        after = await call(http, workspace, "GET", f"/campaigns/{first['id']}")
        assert cancelled.json()["data"]["counts"] == after["counts"]
        assert after["counts"]["queued"] == 0
    resumed = await http.post(f"{API}/campaigns/{second['id']}/resume", headers=workspace.headers)
    assert resumed.status_code in (200, 409), resumed.text
    await drain(worker)
    for campaign in (first, second):
        await assert_exact(http, database, workspace, campaign["id"])
    # A second cancel is refused and changes nothing.
    before = await snapshot(database)
    again = await http.post(f"{API}/campaigns/{first['id']}/cancel", headers=workspace.headers)
    assert_error(again, 409, "INVALID_STATE")
    assert await snapshot(database) == before
