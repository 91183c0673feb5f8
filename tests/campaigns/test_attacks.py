"""Campaigns attacked from outside, as a hostile or careless integrator would: another
workspace's ids, altered links, hostile content, racing state changes, people erased,
deleted or merged while their campaign is on its way. A refusal is a clear 4xx naming the
field and changes nothing; nothing is ever a 500."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.campaigns.service import SEND_TASK, START_TASK
from rapport.kit.db import Database
from rapport.mail.transport import MaildirHandover
from rapport.worker.loop import Worker
from tests.campaigns.attack_helpers import (
    draft,
    jobs_of,
    links,
    maildir_files,
    message_rows,
    subscribers,
    token_variants,
    unsubscribe_path,
    view_path,
)
from tests.campaigns.conftest import API, body_of, call, maildir_messages
from tests.helpers import Workspace, assert_error, events_of_type, snapshot
from tests.mail.server import MailServer
from tests.webhooks.conftest import drain

pytestmark = pytest.mark.usefixtures("app")


async def send_now(http: httpx.AsyncClient, ws: Workspace, campaign_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await call(http, ws, "POST", f"/campaigns/{campaign_id}/send", {})
    return data


async def status_of(http: httpx.AsyncClient, ws: Workspace, campaign_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await call(http, ws, "GET", f"/campaigns/{campaign_id}")
    return data


async def consent_of(http: httpx.AsyncClient, ws: Workspace, contact_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await call(
        http, ws, "GET", f"/contacts/{contact_id}/subscriptions/email"
    )
    return data


def recipients_of(tmp_path: Path, ws: Workspace) -> list[str]:
    return sorted(str(m["To"]) for m in maildir_messages(tmp_path, ws))


# --- another workspace's ids ---------------------------------------------------------------


async def test_another_workspaces_campaign_is_never_visible_nor_usable(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada")
    draft_one = await call(http, workspace, "POST", "/campaigns", draft(name="Draft"), 201)
    sent = await call(http, workspace, "POST", "/campaigns", draft(name="Sent"), 201)
    await send_now(http, workspace, sent["id"])
    await drain(worker)
    scheduled = await call(http, workspace, "POST", "/campaigns", draft(name="Later"), 201)
    await call(
        http,
        workspace,
        "POST",
        f"/campaigns/{scheduled['id']}/send",
        {"scheduledAt": "2100-01-01T00:00:00Z"},
    )
    before = await snapshot(database)

    for campaign in (draft_one, sent, scheduled):
        cid = campaign["id"]
        for method, path, body in (
            ("GET", f"/campaigns/{cid}", None),
            ("PATCH", f"/campaigns/{cid}", {"subject": "Hijacked"}),
            ("DELETE", f"/campaigns/{cid}", None),
            ("POST", f"/campaigns/{cid}/send", {}),
            ("POST", f"/campaigns/{cid}/pause", None),
            ("POST", f"/campaigns/{cid}/resume", None),
            ("POST", f"/campaigns/{cid}/cancel", None),
            ("POST", f"/campaigns/{cid}/duplicate", None),
            ("GET", f"/campaigns/{cid}/recipients", None),
        ):
            response = await http.request(
                method, f"{API}{path}", json=body, headers=other_workspace.headers
            )
            assert_error(response, 404, "NOT_FOUND")
    assert await call(http, other_workspace, "GET", "/campaigns") == []
    assert await snapshot(database) == before
    assert len(maildir_files(tmp_path, workspace)) == 1
    assert not (tmp_path / "maildir" / str(other_workspace.id)).exists()


async def test_another_workspaces_lists_connections_and_templates_cannot_be_used(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    mail_server: MailServer,
) -> None:
    await subscribers(http, workspace, "Ada")
    theirs = await call(
        http,
        other_workspace,
        "POST",
        "/lists",
        {"name": "Theirs", "entityType": "CONTACT", "isDynamic": False},
        201,
    )
    connection = await call(
        http,
        other_workspace,
        "POST",
        "/outbound-email-connections",
        mail_server.connection(fromAddress="sales@globex.example"),
        201,
    )
    template = await call(
        http,
        other_workspace,
        "POST",
        "/templates",
        {"name": "Theirs", "subject": "Secret", "htmlBody": "<p>globex secret</p>"},
        201,
    )
    mine = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    before = await snapshot(database)

    for body, status, field in (
        (draft(audience={"includeLists": [theirs["id"]]}), 422, "audience.includeLists"),
        (
            draft(audience={"filter": "tag = newsletter", "excludeLists": [theirs["id"]]}),
            422,
            "audience.excludeLists",
        ),
        (draft(connectionId=connection["id"]), 422, "connectionId"),
    ):
        for method, path in (("POST", "/campaigns"), ("PATCH", f"/campaigns/{mine['id']}")):
            response = await http.request(
                method, f"{API}{path}", json=body, headers=workspace.headers
            )
            error = assert_error(response, status, "VALIDATION_FAILED")
            assert field in {d["field"] for d in error["details"]}, error

    body = draft(templateId=template["id"])
    del body["htmlBody"]
    response = await http.post(f"{API}/campaigns", json=body, headers=workspace.headers)
    assert response.status_code in (404, 422), response.text
    assert "globex secret" not in response.text
    assert await snapshot(database) == before


async def test_a_filter_naming_another_workspaces_list_reaches_none_of_its_members(
    http: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada")
    victims = await subscribers(http, other_workspace, "Victim")
    theirs = await call(
        http,
        other_workspace,
        "POST",
        "/lists",
        {"name": "Theirs", "entityType": "CONTACT", "isDynamic": False},
        201,
    )
    await call(
        http,
        other_workspace,
        "POST",
        f"/lists/{theirs['id']}/members",
        {"entityIds": [victims["Victim"]["id"]]},
    )

    response = await http.post(
        f"{API}/campaigns",
        json=draft(audience={"filter": f'list = "{theirs["id"]}"'}),
        headers=workspace.headers,
    )
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        await send_now(http, workspace, response.json()["data"]["id"])
        await drain(worker)
        assert (await status_of(http, workspace, response.json()["data"]["id"]))["counts"][
            "recipients"
        ] == 0
    assert not maildir_files(tmp_path, workspace)
    assert not (tmp_path / "maildir" / str(other_workspace.id)).exists()


# --- invalid requests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"audience": {"includeLists": [str(uuid.uuid4()) for _ in range(101)]}}, "includeLists"),
        ({"audience": {"filter": "tag = x", "excludeLists": ["not-a-uuid"]}}, "excludeLists"),
        ({"audience": {"filter": "tag = newsletter", "extra": 1}}, "extra"),
        ({"audience": {"filter": 12}}, "filter"),
        ({"audience": {"filter": "email = 'x' OR 1=1 --"}}, "audience.filter"),
        ({"audience": {"filter": 'email = "x\'; DROP TABLE contacts; --" OR'}}, "filter"),
        ({"audience": {"filter": "1; DELETE FROM contacts"}}, "audience.filter"),
        ({"audience": {"filter": {"type": "sql", "sql": "1=1"}}}, "filter"),
        ({"audience": {"filter": "(" * 500 + "tag = x" + ")" * 500}}, "filter"),
        ({"fromAddress": "news@acme.example\r\nBcc: x@evil.example"}, "fromAddress"),
        ({"fromAddress": "a@b.example, evil@x.example"}, "fromAddress"),
        ({"fromAddress": "Acme <news@acme.example>"}, "fromAddress"),
        ({"replyTo": "reply@acme.example\r\nBcc: x@evil.example"}, "replyTo"),
        ({"replyTo": "reply@acme.example\nBcc: x@evil.example"}, "replyTo"),
        ({"name": ""}, "name"),
        ({"subject": "x" * 301}, "subject"),
        ({"htmlBody": None}, "htmlBody"),
        ({"templateId": "not-a-uuid"}, "templateId"),
        ({"status": "sent"}, "status"),
    ],
)
async def test_a_hostile_draft_is_refused_naming_the_field_and_nothing_is_stored(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    change: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await http.post(f"{API}/campaigns", json=draft(**change), headers=workspace.headers)

    assert response.status_code in (400, 422), response.text
    error = assert_error(response, response.status_code, response.json()["error"]["code"])
    assert error["code"] in ("VALIDATION_FAILED", "INVALID_QUERY"), error
    assert any(field in d["field"] for d in error["details"]), error
    assert await snapshot(database) == before


async def test_a_line_break_in_the_sender_name_is_refused_naming_from_name(
    http: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    body = draft(fromName="Acme\r\nBcc: x@evil.example")
    response = await http.post(f"{API}/campaigns", json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before
    assert {d["field"] for d in error["details"]} == {"fromName"}, error


@pytest.mark.parametrize(
    "body",
    [
        {"scheduledAt": "tomorrow"},
        {"scheduledAt": "2100-13-01T00:00:00Z"},
        {"scheduled_at": "not a time"},
        {"when": "2100-01-01T00:00:00Z"},
        [],
    ],
)
async def test_a_send_with_a_bad_time_is_refused_and_nothing_changes(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, body: Any
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    before = await snapshot(database)

    response = await http.post(
        f"{API}/campaigns/{campaign['id']}/send", json=body, headers=workspace.headers
    )

    assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_a_send_time_without_a_time_zone_is_no_server_error(
    http: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    before = await snapshot(database)

    response = await http.post(
        f"{API}/campaigns/{campaign['id']}/send",
        json={"scheduledAt": "2100-01-01T00:00:00"},
        headers=workspace.headers,
    )

    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert await snapshot(database) == before


async def test_a_list_cycle_is_refused_and_a_campaign_on_those_lists_still_sends(
    http: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada")
    first = await call(
        http,
        workspace,
        "POST",
        "/lists",
        {
            "name": "First",
            "entityType": "CONTACT",
            "isDynamic": True,
            "filterCriteria": "tag = newsletter",
        },
        201,
    )
    second = await call(
        http,
        workspace,
        "POST",
        "/lists",
        {
            "name": "Second",
            "entityType": "CONTACT",
            "isDynamic": True,
            "filterCriteria": f'list = "{first["id"]}"',
        },
        201,
    )
    cycle = await http.patch(
        f"{API}/lists/{first['id']}",
        json={"filterCriteria": f'list = "{second["id"]}"'},
        headers=workspace.headers,
    )
    assert 400 <= cycle.status_code < 500, cycle.text

    campaign = await call(
        http,
        workspace,
        "POST",
        "/campaigns",
        draft(audience={"includeLists": [second["id"]], "filter": f'list = "{first["id"]}"'}),
        201,
    )
    await send_now(http, workspace, campaign["id"])
    await drain(worker)
    assert (await status_of(http, workspace, campaign["id"]))["status"] == "sent"
    assert recipients_of(tmp_path, workspace) == ["ada@example.com"]


# --- hostile content -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>",
        "<p>{{ contact.__class__ }}</p>",
        "<p>{{ cycler.__init__.__globals__ }}</p>",
        "<p>{{ 1 / 0 }}</p>",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "<p>{{ 'x' * 100000000 }}</p>",
        "<p>{{ undefined_function() }}</p>",
    ],
)
async def test_content_that_cannot_render_never_leaves_a_campaign_stuck_sending(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path, html: str
) -> None:
    await subscribers(http, workspace, "Ada")
    created = await http.post(
        f"{API}/campaigns", json=draft(htmlBody=html), headers=workspace.headers
    )
    if created.status_code == 422:
        return  # refused when saved, naming htmlBody: fine
    assert created.status_code == 201, created.text
    campaign = created.json()["data"]
    sent = await http.post(
        f"{API}/campaigns/{campaign['id']}/send", json={}, headers=workspace.headers
    )
    if sent.status_code == 422:
        assert "htmlBody" in {d["field"] for d in sent.json()["error"]["details"]}
        return
    assert sent.status_code == 200, sent.text
    await drain(worker)

    state = await status_of(http, workspace, campaign["id"])
    assert not maildir_files(tmp_path, workspace)
    assert state["status"] in ("failed", "paused", "sent"), state
    assert state["counts"]["queued"] == 0 or state["statusReason"], state


@pytest.mark.parametrize(
    "html",
    [
        "{% include 'secrets.html' %}",
        "{% extends 'base.html' %}",
        "{% import 'macros.html' as m %}",
        "{% from 'x' import y %}",
    ],
)
async def test_templates_cannot_load_anything(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, html: str
) -> None:
    """`include`, `extends` and `import` do not work: refused when saved, or (at the
    latest) when sent; never a 500."""
    before = await snapshot(database)
    response = await http.post(
        f"{API}/campaigns", json=draft(htmlBody=html), headers=workspace.headers
    )

    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert "htmlBody" in {d["field"] for d in response.json()["error"]["details"]}
        assert await snapshot(database) == before


async def test_scripts_and_handlers_never_reach_the_recipient_nor_the_web_view(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> None:
    await subscribers(http, workspace, "Ada")
    hostile = (
        "<script>alert(document.cookie)</script>"
        '<img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(1)">click</a>'
        '<iframe src="https://evil.example"></iframe>'
        '<form action="https://evil.example"><input name="password"></form>'
        '<p style="background:url(https://evil.example/t.gif)">Hi {{ contact.givenName }}</p>'
        '<svg onload="alert(1)"></svg>'
        '<a href="{{ view_in_browser_url }}">View</a>'
    )
    campaign = await call(http, workspace, "POST", "/campaigns", draft(htmlBody=hostile), 201)
    await send_now(http, workspace, campaign["id"])
    await drain(worker)

    [mail] = maildir_messages(tmp_path, workspace)
    view = await http.get(view_path(mail))
    assert view.status_code == 200
    for html in (body_of(mail), view.text):
        lowered = html.lower()
        for bad in ("<script", "onerror", "javascript:", "<iframe", "<form", "onload", "url("):
            assert bad not in lowered, (bad, html)
        assert "Hi Ada" in html


@pytest.mark.parametrize(
    "value",
    [
        "Eve\r\nBcc: x@evil.example",
        "Eve\nBcc: x@evil.example",
        "Eve\rBcc: x@evil.example",
        "Eve\u2028Bcc: x@evil.example",
        "=?utf-8?q?Eve?= Bcc: x@evil.example",
        "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?=",
    ],
)
async def test_merge_values_never_add_a_header(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path, value: str
) -> None:
    people = await subscribers(http, workspace, "Eve")
    await call(
        http,
        workspace,
        "PATCH",
        f"/contacts/{people['Eve']['id']}",
        {"properties": {"nick": value}},
    )
    renamed = await http.patch(
        f"{API}/contacts/{people['Eve']['id']}",
        json={"givenName": value},
        headers=workspace.headers,
    )
    assert renamed.status_code in (200, 422), renamed.text
    campaign = await call(
        http,
        workspace,
        "POST",
        "/campaigns",
        draft(
            subject="{{ contact.givenName }} {{ contact.properties.nick }}",
            preheader="{{ contact.properties.nick }}",
            fromName="Acme {{ contact.givenName }}",
        ),
        201,
    )
    await send_now(http, workspace, campaign["id"])
    await drain(worker)

    [path] = maildir_files(tmp_path, workspace)
    headers = path.read_bytes().split(b"\n\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", headers), headers
    [mail] = maildir_messages(tmp_path, workspace)
    assert mail["Bcc"] is None
    assert "\n" not in str(mail["Subject"])
    assert "\r" not in str(mail["Subject"])
    assert [str(mail["To"])] == ["eve@example.com"]


# --- the state machine under races ---------------------------------------------------------


async def test_two_sends_at_once_start_one_campaign_once(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada", "Bob")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    path = f"{API}/campaigns/{campaign['id']}/send"

    responses = await asyncio.gather(
        *(http.post(path, json={}, headers=workspace.headers) for _ in range(4))
    )

    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [
        r.text for r in responses
    ]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "INVALID_STATE")
    assert await jobs_of(database, START_TASK) == 1
    await drain(worker)
    assert await jobs_of(database, SEND_TASK) == 1
    assert recipients_of(tmp_path, workspace) == ["ada@example.com", "bob@example.com"]
    assert len(await events_of_type(http, workspace, "campaign.scheduled")) == 1


async def test_a_campaign_cancelled_and_paused_at_once_stays_cancelled(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    cid = campaign["id"]
    await call(
        http, workspace, "POST", f"/campaigns/{cid}/send", {"scheduledAt": "2100-01-01T00:00:00Z"}
    )

    cancel, pause = await asyncio.gather(
        http.post(f"{API}/campaigns/{cid}/cancel", headers=workspace.headers),
        http.post(f"{API}/campaigns/{cid}/pause", headers=workspace.headers),
    )

    assert cancel.status_code == 200, cancel.text
    assert pause.status_code in (200, 409), pause.text
    assert (await status_of(http, workspace, cid))["status"] == "cancelled"
    resumed = await http.post(f"{API}/campaigns/{cid}/resume", headers=workspace.headers)
    assert_error(resumed, 409, "INVALID_STATE")
    await drain(worker)
    assert not maildir_files(tmp_path, workspace)


async def test_cancel_while_the_chunk_job_runs_sends_nothing_more(
    http: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await subscribers(http, workspace, "Ada", "Bob", "Cy", "Di")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    stage = MaildirHandover.stage
    staged = []

    async def stage_then_cancel(self: MaildirHandover, *args: Any) -> None:
        staged.append(args[2])
        if len(staged) == 1:
            await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/cancel")
        await stage(self, *args)

    monkeypatch.setattr(MaildirHandover, "stage", stage_then_cancel)
    await drain(worker)

    state = await status_of(http, workspace, campaign["id"])
    assert state["status"] == "cancelled"
    assert state["counts"] == {
        "recipients": 4,
        "queued": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 4,
    }
    assert not maildir_files(tmp_path, workspace)
    assert not list((tmp_path / "maildir" / str(workspace.id) / "tmp").glob("*"))


async def test_pause_while_the_chunk_job_runs_stops_before_the_next_message(
    http: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await subscribers(http, workspace, "Ada", "Bob", "Cy", "Di")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    stage = MaildirHandover.stage
    staged = []

    async def stage_then_pause(self: MaildirHandover, *args: Any) -> None:
        staged.append(args[2])
        if len(staged) == 1:
            await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/pause")
        await stage(self, *args)

    monkeypatch.setattr(MaildirHandover, "stage", stage_then_pause)
    await drain(worker)
    monkeypatch.undo()

    assert (await status_of(http, workspace, campaign["id"]))["status"] == "paused"
    assert len(maildir_files(tmp_path, workspace)) <= 1
    await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/resume")
    await drain(worker)
    assert len(maildir_files(tmp_path, workspace)) == 4


async def test_pausing_and_resuming_over_and_over_sends_each_recipient_once(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada", "Bob", "Cy")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    cid = campaign["id"]
    await call(
        http, workspace, "POST", f"/campaigns/{cid}/send", {"scheduledAt": "2100-01-01T00:00:00Z"}
    )
    for _ in range(3):  # before it started: resume starts it now
        await call(http, workspace, "POST", f"/campaigns/{cid}/pause")
        await call(http, workspace, "POST", f"/campaigns/{cid}/resume")
    await worker.run_once()  # the start jobs: one freezes the audience, the others find it started
    for _ in range(3):
        await call(http, workspace, "POST", f"/campaigns/{cid}/pause")
        assert_error(
            await http.post(f"{API}/campaigns/{cid}/pause", headers=workspace.headers),
            409,
            "INVALID_STATE",
        )
        await call(http, workspace, "POST", f"/campaigns/{cid}/resume")
    await drain(worker)

    state = await status_of(http, workspace, cid)
    assert state["status"] == "sent"
    assert state["counts"]["sent"] == 3
    assert recipients_of(tmp_path, workspace) == [
        "ada@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    assert len(await message_rows(database, cid)) == 3
    assert len(await events_of_type(http, workspace, "campaign.started")) == 1
    assert len(await events_of_type(http, workspace, "campaign.sent")) == 1


async def test_a_scheduled_sending_or_paused_campaign_cannot_be_deleted(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
) -> None:
    await subscribers(http, workspace, "Ada")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    cid = campaign["id"]
    await call(
        http, workspace, "POST", f"/campaigns/{cid}/send", {"scheduledAt": "2100-01-01T00:00:00Z"}
    )
    for step in ("scheduled", "paused"):
        before = await snapshot(database)
        response = await http.delete(f"{API}/campaigns/{cid}", headers=workspace.headers)
        error = assert_error(response, 409, "INVALID_STATE")
        assert step in error["message"]
        assert await snapshot(database) == before
        if step == "scheduled":
            await call(http, workspace, "POST", f"/campaigns/{cid}/pause")


async def test_a_sending_campaign_duplicates_into_an_untouched_draft(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    await subscribers(http, workspace, "Ada", "Bob")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await worker.run_once()  # started: sending, its chunk job waiting
    assert (await status_of(http, workspace, campaign["id"]))["status"] == "sending"

    copy = await call(http, workspace, "POST", f"/campaigns/{campaign['id']}/duplicate", None, 201)
    assert copy["status"] == "draft"
    assert copy["id"] != campaign["id"]
    assert copy["counts"]["recipients"] == 0
    assert copy["startedAt"] is None
    assert copy["scheduledAt"] is None
    await drain(worker)
    assert (await status_of(http, workspace, copy["id"]))["status"] == "draft"
    assert await message_rows(database, copy["id"]) == []
    assert recipients_of(tmp_path, workspace) == ["ada@example.com", "bob@example.com"]


async def test_a_sent_campaign_is_kept_so_its_unsubscribe_links_keep_working(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    people = await subscribers(http, workspace, "Ada")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await drain(worker)
    [mail] = maildir_messages(tmp_path, workspace)
    before = await snapshot(database)
    refused = await http.delete(f"{API}/campaigns/{campaign['id']}", headers=workspace.headers)
    assert_error(refused, 409, "INVALID_STATE")
    assert await snapshot(database) == before

    response = await http.post(unsubscribe_path(mail), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200, response.text
    assert (await consent_of(http, workspace, people["Ada"]["id"]))["status"] == "unsubscribed"


# --- links -----------------------------------------------------------------------------------


@pytest.fixture
async def sent_mail(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> dict[str, Any]:
    people = await subscribers(http, workspace, "Ada")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await drain(worker)
    [mail] = maildir_messages(tmp_path, workspace)
    return {"mail": mail, "contact": people["Ada"], "campaign": campaign}


@pytest.mark.parametrize(
    "variant",
    list(token_variants("a.b.c.d", "x")),
)
async def test_a_spoiled_link_is_a_404_page_and_changes_nothing(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    sent_mail: dict[str, Any],
    variant: str,
) -> None:
    mail = sent_mail["mail"]
    unsubscribe = unsubscribe_path(mail).rsplit("/", 1)[1]
    view = view_path(mail).rsplit("/", 1)[1]
    before = await snapshot(database)

    for prefix, token, other_kind in (
        ("/email/unsubscribe/", unsubscribe, view),
        ("/email/view/", view, unsubscribe),
    ):
        spoiled = token_variants(token, other_kind)[variant]
        for method in ("GET", "POST"):
            if prefix == "/email/view/" and method == "POST":
                continue
            response = await http.request(method, prefix + spoiled)
            if variant == "null byte":  # refused before any route: a clear 400
                assert_error(response, 400, "INVALID_REQUEST")
                continue
            assert response.status_code == 404, (method, prefix, spoiled, response.text)
            if variant != "encoded slash":  # "/" in a token: no such page at all
                assert response.headers["content-type"].startswith("text/html"), response.text
    assert await snapshot(database) == before
    assert (await consent_of(http, workspace, sent_mail["contact"]["id"]))["status"] == "subscribed"


async def test_a_link_signed_for_another_workspace_never_reaches_this_ones_message(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    sent_mail: dict[str, Any],
) -> None:
    [row] = await message_rows(database, sent_mail["campaign"]["id"])
    signer = links()
    before = await snapshot(database)

    for url in (
        signer.unsubscribe(other_workspace.id, row.id),
        signer.view(other_workspace.id, row.id),
        signer.unsubscribe(uuid.uuid4(), row.id),
        signer.unsubscribe(workspace.id, uuid.uuid4()),
        signer.view(workspace.id, uuid.uuid4()),
    ):
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        for method in ("GET", "POST"):
            response = await http.request(method, path)
            assert response.status_code in (404, 405), (path, response.text)
            if response.status_code == 404:
                assert response.headers["content-type"].startswith("text/html")
    assert await snapshot(database) == before


# --- people erased, deleted, unsubscribed or merged on the way ------------------------------


async def test_a_contact_erased_between_start_and_chunk_gets_nothing(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    worker: Worker,
    tmp_path: Path,
) -> None:
    people = await subscribers(http, workspace, "Ada", "Bob")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await worker.run_once()  # the audience frozen, both queued
    await call(http, workspace, "POST", f"/contacts/{people['Ada']['id']}/erase", {})
    await drain(worker)

    assert recipients_of(tmp_path, workspace) == ["bob@example.com"]
    state = await status_of(http, workspace, campaign["id"])
    assert state["status"] == "sent"
    assert state["counts"] == {"recipients": 2, "queued": 0, "sent": 1, "failed": 0, "skipped": 1}
    rows = await message_rows(database, campaign["id"])
    assert sorted(r.email for r in rows) == ["", "bob@example.com"]
    assert (
        "ada"
        not in str(
            await call(http, workspace, "GET", f"/campaigns/{campaign['id']}/recipients")
        ).lower()
    )


async def test_a_contact_deleted_between_start_and_chunk_gets_nothing(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> None:
    people = await subscribers(http, workspace, "Ada", "Bob")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await worker.run_once()
    await call(http, workspace, "DELETE", f"/contacts/{people['Ada']['id']}", None, 200)
    await drain(worker)

    assert recipients_of(tmp_path, workspace) == ["bob@example.com"]


@pytest.mark.parametrize("how", ["unsubscribed", "bounced", "complained", "suppressed"])
async def test_a_recipient_who_withdraws_before_their_chunk_runs_gets_nothing(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path, how: str
) -> None:
    people = await subscribers(http, workspace, "Ada", "Bob")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await worker.run_once()
    if how == "suppressed":
        await call(http, workspace, "POST", "/suppressions", {"email": "ada@example.com"}, 201)
    else:
        await call(
            http,
            workspace,
            "PUT",
            f"/contacts/{people['Ada']['id']}/subscriptions/email",
            {"status": how},
        )
    await drain(worker)

    assert recipients_of(tmp_path, workspace) == ["bob@example.com"]


async def test_one_address_is_never_sent_a_campaign_twice(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> None:
    await subscribers(http, workspace, "Ada")
    again = await http.post(
        f"{API}/contacts",
        json={"email": "ADA@Example.com", "givenName": "Ada again"},
        headers=workspace.headers,
    )
    assert again.status_code in (201, 409), again.text
    if again.status_code == 201:
        tag = (await call(http, workspace, "GET", "/tags"))[0]
        contact_id = again.json()["data"]["id"]
        await call(
            http, workspace, "POST", f"/contacts/{contact_id}/tags", {"tagId": tag["id"]}, 201
        )
        await call(
            http,
            workspace,
            "PUT",
            f"/contacts/{contact_id}/subscriptions/email",
            {"status": "subscribed"},
        )
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await drain(worker)

    sent_to = [str(m["To"]).lower() for m in maildir_messages(tmp_path, workspace)]
    assert sent_to == ["ada@example.com"]


async def test_an_unsubscribe_link_of_a_merged_contact_unsubscribes_the_survivor(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> None:
    people = await subscribers(http, workspace, "Ada", "Bob")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await drain(worker)
    ada = next(m for m in maildir_messages(tmp_path, workspace) if "ada" in str(m["To"]))
    await call(
        http,
        workspace,
        "POST",
        f"/contacts/{people['Bob']['id']}/merge",
        {"loserId": people["Ada"]["id"]},
    )

    response = await http.post(unsubscribe_path(ada), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200, response.text
    survivor = await consent_of(http, workspace, people["Bob"]["id"])
    assert survivor["status"] == "unsubscribed", survivor


async def test_an_address_no_message_can_be_written_to_fails_alone(
    http: httpx.AsyncClient, workspace: Workspace, worker: Worker, tmp_path: Path
) -> None:
    await subscribers(http, workspace, "Ada", "Jürgen")
    campaign = await call(http, workspace, "POST", "/campaigns", draft(), 201)
    await send_now(http, workspace, campaign["id"])
    await drain(worker)

    done = await call(http, workspace, "GET", f"/campaigns/{campaign['id']}")
    assert done["status"] == "sent"
    assert (done["counts"]["sent"], done["counts"]["failed"]) == (1, 1)
    failed = await call(
        http, workspace, "GET", f"/campaigns/{campaign['id']}/recipients?status=failed"
    )
    assert [r["email"] for r in failed] == ["jürgen@example.com"]
    assert "address" in failed[0]["reason"]
