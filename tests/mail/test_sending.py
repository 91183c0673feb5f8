"""Outbound emails: queued with an EMAIL activity on the contact's timeline, sent by a job to
a real SMTP server on loopback, retried while the server answers 4xx, failed with its reply
when it answers 5xx."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from rapport.auth.scopes import Scope
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import Job, JobState
from rapport.worker.loop import Worker
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)
from tests.mail.server import Certificate, MailServer, trusting
from tests.webhooks.conftest import drain

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"
HTML = (
    '<p>Hi Ada,</p><p onclick="steal()">Here is the <b>proposal</b>: '
    '<a href="https://example.com/p">read it</a>.</p><script>alert("x")</script>'
)


async def post(http: httpx.AsyncClient, ws: Workspace, path: str, body: Any) -> dict[str, Any]:
    response = await http.post(f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code in (201, 202), response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def get(http: httpx.AsyncClient, ws: Workspace, path: str) -> Any:
    response = await http.get(f"{API}{path}", headers=ws.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
async def contact(dev_client: httpx.AsyncClient, workspace: Workspace) -> dict[str, Any]:
    return await post(
        dev_client, workspace, "/contacts", {"email": "Ada@Example.com", "name": "Ada Lovelace"}
    )


@pytest.fixture
async def connection(
    dev_client: httpx.AsyncClient, workspace: Workspace, mail_server: MailServer
) -> dict[str, Any]:
    return await post(
        dev_client, workspace, "/outbound-email-connections", mail_server.connection()
    )


def email_body(contact: dict[str, Any], connection: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "contactId": contact["id"],
        "connectionId": connection["id"],
        "subject": "Your proposal",
        "htmlBody": HTML,
        **extra,
    }


async def make_due(database: Database) -> None:
    """Queued jobs run now rather than after their backoff."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(Job).where(Job.state == JobState.QUEUED).values(run_at=utcnow())
        )


async def jobs(database: Database) -> list[Job]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return list((await session.execute(select(Job).where(Job.task == "mail.send"))).scalars())


async def test_an_email_is_queued_then_sent_to_the_contact(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    response = await dev_client.post(
        f"{API}/outbound-email", json=email_body(contact, connection), headers=workspace.headers
    )

    assert response.status_code == 202, response.text
    queued = response.json()["data"]
    assert response.headers["Location"] == f"{API}/outbound-email/{queued['id']}"
    assert queued["status"] == "queued"
    assert queued["to"] == "ada@example.com"
    assert queued["attempts"] == 0
    assert "<script>" not in queued["htmlBody"]
    assert "onclick" not in queued["htmlBody"]
    assert "Here is the proposal: read it (https://example.com/p)." in queued["textBody"]
    assert mail_server.received == []
    activity = await get(dev_client, workspace, f"/activities/{queued['activityId']}")
    assert activity["type"] == "EMAIL"
    assert activity["contactId"] == contact["id"]
    assert activity["subject"] == "Your proposal"
    assert activity["properties"]["delivery"] == {
        "status": "queued",
        "emailId": queued["id"],
        "messageId": queued["messageId"],
        "error": None,
    }

    assert await drain(worker) == 1

    [received] = mail_server.received
    assert not received.encrypted  # tlsMode none: no STARTTLS, though the server offers it
    assert received.recipients == ["ada@example.com"]
    assert received.mail_from == "sales@acme.example"
    message = received.message()
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Acme Sales <sales@acme.example>"
    assert message["Subject"] == "Your proposal"
    assert message["Message-ID"] == queued["messageId"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Here is the proposal: read it (https://example.com/p)." in text.get_content()
    html_sent = html.get_content()
    assert "<b>proposal</b>" in html_sent
    for removed in ("<script", "alert", "onclick"):
        assert removed not in html_sent

    sent = await get(dev_client, workspace, f"/outbound-email/{queued['id']}")
    assert sent["status"] == "sent"
    assert sent["attempts"] == 1
    assert sent["sentAt"] is not None
    assert sent["error"] is None
    activity = await get(dev_client, workspace, f"/activities/{queued['activityId']}")
    assert activity["properties"]["delivery"]["status"] == "sent"
    timeline = await get(dev_client, workspace, f"/contacts/{contact['id']}/timeline")
    emails = [i["activity"] for i in timeline if i["kind"] == "activity"]
    assert [a["properties"]["delivery"]["status"] for a in emails] == ["sent"]
    assert [
        e["resourceId"] for e in await events_of_type(dev_client, workspace, "outbound_email.*")
    ] == [
        queued["id"],
        queued["id"],
    ]
    [sent_event] = await events_of_type(dev_client, workspace, "outbound_email.sent")
    assert sent_event["data"]["record"]["messageId"] == queued["messageId"]
    assert "htmlBody" not in sent_event["data"]["record"]

    assert await drain(worker) == 0
    assert len(mail_server.received) == 1


async def test_an_email_about_a_lead_goes_to_its_contact_and_shows_on_both_timelines(
    dev_client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    acme = await post(dev_client, workspace, "/companies", {"name": "Acme"})
    lead = await post(
        dev_client,
        workspace,
        "/leads",
        {"title": "Acme: pilot", "contactId": contact["id"], "companyId": acme["id"]},
    )
    body = email_body(contact, connection, leadId=lead["id"], channel="smtp")
    del body["contactId"]

    queued = await post(dev_client, workspace, "/outbound-email", body)
    await drain(worker)

    assert queued["leadId"] == lead["id"]
    assert [r.recipients for r in mail_server.received] == [["ada@example.com"]]
    activity = await get(dev_client, workspace, f"/activities/{queued['activityId']}")
    assert (activity["leadId"], activity["contactId"], activity["companyId"]) == (
        lead["id"],
        contact["id"],
        acme["id"],
    )
    lead_timeline = await get(dev_client, workspace, f"/leads/{lead['id']}/timeline")
    emails = [i["activity"] for i in lead_timeline if i["kind"] == "activity"]
    assert [a["properties"]["delivery"]["status"] for a in emails] == ["sent"]

    no_contact = await post(dev_client, workspace, "/leads", {"title": "Nobody yet"})
    before = await snapshot(database)
    for refused_body, field in (
        ({**body, "leadId": no_contact["id"]}, "leadId"),
        ({**body, "leadId": str(uuid.uuid4())}, "leadId"),
    ):
        response = await dev_client.post(
            f"{API}/outbound-email", json=refused_body, headers=workspace.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == field
    assert await snapshot(database) == before


async def test_a_given_text_part_is_sent_as_given(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    body = email_body(contact, connection, textBody="Hi Ada,\n\nThe proposal.\n", channel="SMTP")
    body["to"] = "ADA@example.com"
    queued = await post(dev_client, workspace, "/outbound-email", body)
    await drain(worker)

    [received] = mail_server.received
    text = received.message().get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == "Hi Ada,\n\nThe proposal.\n"
    assert queued["textBody"] == "Hi Ada,\n\nThe proposal.\n"


async def test_an_email_goes_over_starttls_when_the_connection_says_so(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    smtp_certificate: Certificate,
    contact: dict[str, Any],
) -> None:
    with trusting(smtp_certificate):
        connection = await post(
            dev_client,
            workspace,
            "/outbound-email-connections",
            mail_server.connection(name="Encrypted", tlsMode="starttls"),
        )
        await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
        await drain(worker)

    [received] = mail_server.received
    assert received.encrypted


async def test_a_permanent_refusal_fails_the_email_with_the_servers_reply(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    database: Database,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    queued = await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
    mail_server.rcpt_replies.append("550 5.1.1 No such user here")

    await drain(worker)

    assert mail_server.received == []
    failed = await get(dev_client, workspace, f"/outbound-email/{queued['id']}")
    assert failed["status"] == "failed"
    assert "550 5.1.1 No such user here" in failed["error"]
    assert failed["attempts"] == 1
    assert failed["sentAt"] is None
    activity = await get(dev_client, workspace, f"/activities/{queued['activityId']}")
    assert activity["properties"]["delivery"]["status"] == "failed"
    assert activity["properties"]["delivery"]["error"] == failed["error"]
    [event] = await events_of_type(dev_client, workspace, "outbound_email.failed")
    assert event["data"]["record"]["error"] == failed["error"]
    [job] = await jobs(database)
    assert job.state == JobState.SUCCEEDED  # settled: nothing is left to retry

    before = await snapshot(database)
    forged = await dev_client.patch(
        f"{API}/activities/{queued['activityId']}",
        json={"properties": {"delivery": {"status": "sent", "error": None}}},
        headers=workspace.headers,
    )
    assert forged.status_code == 422, forged.text
    assert forged.json()["error"]["details"][0]["field"] == "properties.delivery"
    assert await snapshot(database) == before
    kept = await dev_client.patch(
        f"{API}/activities/{queued['activityId']}",
        json={"content": "Sent from the proposal thread"},
        headers=workspace.headers,
    )
    assert kept.status_code == 200, kept.text


async def test_a_temporary_refusal_is_retried_and_sent_once(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    database: Database,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    queued = await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
    mail_server.data_replies.append("451 4.3.0 Try again later")

    assert await drain(worker) == 1
    [job] = await jobs(database)
    assert job.state == JobState.QUEUED
    assert job.run_at > utcnow()  # backing off
    assert "451 4.3.0 Try again later" in (job.last_error or "")
    waiting = await get(dev_client, workspace, f"/outbound-email/{queued['id']}")
    assert waiting["status"] == "queued"
    assert mail_server.received == []

    await make_due(database)
    assert await drain(worker) == 1

    [received] = mail_server.received
    assert received.message()["Message-ID"] == queued["messageId"]
    sent = await get(dev_client, workspace, f"/outbound-email/{queued['id']}")
    assert sent["status"] == "sent"
    assert sent["attempts"] == 2
    await make_due(database)
    assert await drain(worker) == 0
    assert len(mail_server.received) == 1


async def test_an_unreachable_server_fails_the_email_when_retries_run_out(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    database: Database,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    queued = await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).where(Job.task == "mail.send").values(max_attempts=2))
    mail_server.data_replies.extend(["421 4.7.0 Too busy", "452 4.3.1 Out of space"])

    await drain(worker)
    await make_due(database)
    await drain(worker)

    failed = await get(dev_client, workspace, f"/outbound-email/{queued['id']}")
    assert failed["status"] == "failed"
    assert "452 4.3.1 Out of space" in failed["error"]
    assert failed["attempts"] == 2
    activity = await get(dev_client, workspace, f"/activities/{queued['activityId']}")
    assert activity["properties"]["delivery"]["status"] == "failed"
    [job] = await jobs(database)
    assert job.state == JobState.DEAD
    assert mail_server.received == []


async def test_an_email_whose_connection_was_deleted_fails(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    queued = await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
    response = await dev_client.delete(
        f"{API}/outbound-email-connections/{connection['id']}", headers=workspace.headers
    )
    assert response.status_code == 204

    await drain(worker)

    failed = await get(dev_client, workspace, f"/outbound-email/{queued['id']}")
    assert failed["status"] == "failed"
    assert failed["connectionId"] is None
    assert "connection was deleted" in failed["error"]
    assert mail_server.received == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"contactId": str(uuid.uuid4())}, "contactId", id="unknown-contact"),
        pytest.param({"connectionId": str(uuid.uuid4())}, "connectionId", id="unknown-connection"),
        pytest.param({"channel": "gmail"}, "channel", id="another-channel"),
        pytest.param({"to": "someone.else@example.com"}, "to", id="another-recipient"),
        pytest.param({"subject": "Hi\r\nBcc: all@example.com"}, "subject", id="header-injection"),
        pytest.param({"subject": "  "}, "subject", id="blank-subject"),
        pytest.param({"htmlBody": "<script>alert(1)</script>"}, "htmlBody", id="nothing-left"),
        pytest.param({"textBody": " "}, "textBody", id="blank-text"),
        pytest.param({"htmlBody": None}, "htmlBody", id="no-html"),
        pytest.param({"cc": "x@example.com"}, "cc", id="unknown-field"),
    ],
)
async def test_a_refused_email_stores_nothing(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    connection: dict[str, Any],
    change: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await dev_client.post(
        f"{API}/outbound-email",
        json=email_body(contact, connection, **change),
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in [d["field"] for d in error["details"]]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("contact_fields", "message"),
    [
        pytest.param(
            {"name": "Grace", "phone": "+14155552671"},
            "The contact has no email address",
            id="no-email",
        ),
        pytest.param(
            {"email": "jöhn@example.com"}, "non-ASCII characters before the @", id="smtputf8"
        ),
    ],
)
async def test_a_contact_rapport_cannot_write_to_is_refused(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    connection: dict[str, Any],
    contact_fields: dict[str, Any],
    message: str,
) -> None:
    contact = await post(dev_client, workspace, "/contacts", contact_fields)
    before = await snapshot(database)
    response = await dev_client.post(
        f"{API}/outbound-email", json=email_body(contact, connection), headers=workspace.headers
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    [detail] = error["details"]
    assert detail["field"] == "contactId"
    assert message in detail["message"]
    assert await snapshot(database) == before


async def test_a_deleted_contact_is_refused(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    response = await dev_client.delete(f"{API}/contacts/{contact['id']}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    before = await snapshot(database)
    response = await dev_client.post(
        f"{API}/outbound-email", json=email_body(contact, connection), headers=workspace.headers
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"] == [{"field": "contactId", "message": "The contact is deleted"}]
    assert await snapshot(database) == before


async def test_unicode_domains_are_sent_in_their_ascii_form(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    connection: dict[str, Any],
) -> None:
    contact = await post(dev_client, workspace, "/contacts", {"email": "ada@bücher.de"})
    queued = await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
    await drain(worker)

    assert queued["to"] == "ada@xn--bcher-kva.de"
    [received] = mail_server.received
    assert received.recipients == ["ada@xn--bcher-kva.de"]


async def test_sending_needs_crm_write_and_stays_in_its_workspace(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    contact: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    reader = await add_key(database, workspace, [Scope.CRM_READ])
    before = await snapshot(database)
    response = await dev_client.post(
        f"{API}/outbound-email", json=email_body(contact, connection), headers=reader
    )
    assert_error(response, 403, "FORBIDDEN")
    # Another workspace can name neither this workspace's contact nor its connection.
    response = await dev_client.post(
        f"{API}/outbound-email",
        json=email_body(contact, connection),
        headers=other_workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "contactId"
    assert await snapshot(database) == before

    queued = await post(dev_client, workspace, "/outbound-email", email_body(contact, connection))
    assert (
        await dev_client.get(f"{API}/outbound-email/{queued['id']}", headers=reader)
    ).status_code == 200
    response = await dev_client.get(
        f"{API}/outbound-email/{queued['id']}", headers=other_workspace.headers
    )
    assert_error(response, 404, "NOT_FOUND")
