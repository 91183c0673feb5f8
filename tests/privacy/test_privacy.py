"""A person's export (everything held on them, their merged records included) and erasure
(deleted or redacted, kind by kind, with the figures kept), and refused requests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models import (
    CompanyMembership,
    Contact,
    ContactTag,
    Event,
    ListMember,
    PropertyValue,
    Suppression,
    SyncLink,
    WebhookAttempt,
    WebhookDelivery,
)
from rapport.suppressions.service import SuppressionService, email_hash
from rapport.worker.loop import Worker
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, assert_error, snapshot
from tests.mail.server import MailServer
from tests.privacy.conftest import API, PERSONAL, Person, drain, get, post

pytestmark = pytest.mark.usefixtures("app")


async def export(http: httpx.AsyncClient, ws: Workspace, ref: str) -> dict[str, Any]:
    data: dict[str, Any] = await get(http, ws.headers, f"/contacts/{ref}/export")
    return data


async def erase(
    http: httpx.AsyncClient, headers: dict[str, str], ref: str, **body: Any
) -> httpx.Response:
    return await http.post(f"{API}/contacts/{ref}/erase", json=body, headers=headers)


async def rows(database: Database, model: Any, *where: Any) -> list[Any]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return list((await session.execute(select(model).where(*where))).scalars())


async def test_export_holds_every_kind_of_data_of_the_person_and_of_merged_records(
    dev_client: httpx.AsyncClient, workspace: Workspace, person: Person
) -> None:
    ids = person.ids
    data = await export(dev_client, workspace, "ada@example.com")
    assert data["contact"]["id"] == ids["ada"]
    assert data["contact"]["properties"] == {"city": "London"}
    assert [c["id"] for c in data["mergedContacts"]] == [ids["old"]]
    assert data["mergedContacts"][0]["email"] == "ada.old@example.com"
    activities = {a["id"]: a for a in data["activities"]}
    assert activities[ids["call"]]["subject"] == "Pricing call"
    assert activities[ids["note"]]["type"] == "NOTE"
    assert ids["bystander"] not in activities
    assert any(a["type"] == "EMAIL" for a in data["activities"])
    assert [m["id"] for m in data["companyMemberships"]] == [ids["membership"]]
    assert [t["key"] for t in data["tags"]] == ["vip"]
    assert [lead["id"] for lead in data["leads"]] == [ids["lead"]]
    assert [(m["listId"], m["listName"]) for m in data["lists"]] == [(ids["list"], "Newsletter")]
    assert [t["id"] for t in data["tasks"]] == [ids["task"]]
    assert [e["id"] for e in data["outboundEmails"]] == [ids["email"]]
    assert data["outboundEmails"][0]["to"] == "ada@example.com"
    assert [s["externalId"] for s in data["syncLinks"]] == ["hs-ada"]
    assert [(c["status"], c["source"]) for c in data["emailConsents"]] == [
        ("subscribed", "signup form")
    ]
    assert [(m["campaignId"], m["email"], m["status"]) for m in data["campaignMessages"]] == [
        (ids["campaign"], "ada@example.com", "sent")
    ]
    types = {e["type"] for e in data["events"]}
    assert {"contact.created", "contact.merged", "activity.created", "lead.created"} <= types
    assert {e["resourceId"] for e in data["events"]} >= {ids["ada"], ids["old"]}
    assert ids["grace"] not in {e["resourceId"] for e in data["events"]}
    delivered = {d["eventId"] for d in data["webhookDeliveries"]}
    assert delivered
    assert delivered <= {e["id"] for e in data["events"]}
    # A merged record names the same person: its export is the survivor's.
    assert (await export(dev_client, workspace, ids["old"]))["contact"]["id"] == ids["ada"]


async def test_erase_deletes_or_redacts_every_kind_and_keeps_the_figures(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    person: Person,
    worker: Worker,
) -> None:
    http, ids = dev_client, person.ids
    both = [uuid.UUID(ids["ada"]), uuid.UUID(ids["old"])]
    dashboard_before = await get(http, person.user_headers, "/dashboard")
    contacts_before = (await http.get(f"{API}/contacts", headers=workspace.headers)).json()
    response = await erase(http, workspace.headers, ids["ada"], reason="Asked by the person")
    assert response.status_code == 200, response.text
    summary = response.json()["data"]
    assert sorted(summary.pop("contactIds")) == sorted([ids["ada"], ids["old"]])
    assert summary.pop("eventsRedacted") > 10
    assert summary.pop("webhookDeliveriesRedacted") > 10
    assert summary == {
        "activitiesRedacted": 3,  # the call, the note, the email's activity
        "tasksRedacted": 1,
        "leadsUnlinked": 1,
        "companyMembershipsDeleted": 1,
        "tagsRemoved": 1,
        "listMembershipsDeleted": 1,
        "syncLinksDeleted": 1,
        "outboundEmailsRedacted": 1,
        "campaignMessagesRedacted": 1,
        "emailsSuppressed": 2,
    }

    # The contacts are gone, under every name; erasing again finds nothing.
    for ref in (ids["ada"], ids["old"], "ada@example.com", "ada-ext", "ada.old@example.com"):
        assert_error(
            await http.get(f"{API}/contacts/{ref}", headers=workspace.headers), 404, "NOT_FOUND"
        )
    assert_error(await erase(http, workspace.headers, ids["ada"]), 404, "NOT_FOUND")
    assert await rows(database, Contact, Contact.id.in_(both)) == []
    contacts_after = (await http.get(f"{API}/contacts", headers=workspace.headers)).json()
    assert contacts_after["meta"]["total"] == contacts_before["meta"]["total"] - 1

    # Kept without personal data: activities, the task, the lead, the email.
    call = await get(http, workspace.headers, f"/activities/{ids['call']}")
    assert (call["type"], call["subject"], call["content"], call["contactId"]) == (
        "CALL",
        None,
        None,
        None,
    )
    assert call["properties"] == {}
    note = await get(http, workspace.headers, f"/activities/{ids['note']}")
    assert (note["type"], note["content"], note["contactId"]) == ("NOTE", None, None)
    bystander = await get(http, workspace.headers, f"/activities/{ids['bystander']}")
    assert (bystander["subject"], bystander["contactId"]) == ("Hi", ids["grace"])
    task = await get(http, workspace.headers, f"/tasks/{ids['task']}")
    assert (task["title"], task["description"], task["contactId"]) == ("Redacted", None, None)
    lead = await get(http, workspace.headers, f"/leads/{ids['lead']}")
    assert (lead["contactId"], lead["value"], lead["currency"]) == (None, "1200.00", "USD")
    email = await get(http, workspace.headers, f"/outbound-email/{ids['email']}")
    assert (email["to"], email["subject"], email["htmlBody"], email["contactId"]) == (
        "",
        "",
        "",
        None,
    )
    assert email["status"] == "sent"
    campaign = await get(http, workspace.headers, f"/campaigns/{ids['campaign']}")
    assert campaign["counts"]["sent"] == 1
    recipients = await get(http, workspace.headers, f"/campaigns/{ids['campaign']}/recipients")
    assert [(r["email"], r["contactId"], r["status"]) for r in recipients] == [("", None, "sent")]

    # Deleted: memberships, tags, list memberships, property values, sync links.
    for model, column in (
        (CompanyMembership, CompanyMembership.contact_id),
        (ContactTag, ContactTag.contact_id),
        (ListMember, ListMember.record_id),
        (PropertyValue, PropertyValue.record_id),
        (SyncLink, SyncLink.contact_id),
    ):
        assert await rows(database, model, column.in_(both)) == [], model
    assert (
        await rows(database, PropertyValue, PropertyValue.record_id == uuid.UUID(ids["membership"]))
        == []
    )
    segment = await get(http, workspace.headers, f"/lists/{ids['list']}")
    assert segment["memberCount"] == 0

    # Events about the person keep type, time and ids; their data is redacted.
    about = await rows(database, Event, Event.resource_id.in_(both))
    erased = [e for e in about if e.type == "contact.erased"]
    assert sorted(str(e.resource_id) for e in erased) == sorted([ids["ada"], ids["old"]])
    assert all(e.data == {} for e in erased)
    assert {e.type for e in about} >= {"contact.created", "contact.merged", "contact.tagged"}
    assert all(
        e.data == {"redacted": True}
        for e in about
        if e.type not in ("contact.erased", "list.member_removed")
    )
    listed = await get(
        http, workspace.headers, f"/events?resourceId={ids['ada']}&type=contact.created"
    )
    assert [e["data"] for e in listed] == [{"redacted": True}]
    call_events = await get(http, workspace.headers, f"/events?resourceId={ids['call']}")
    assert call_events
    assert all(e["data"] == {"redacted": True} for e in call_events)

    # Webhook deliveries keep their log, without the receivers' answers.
    person_records = [uuid.UUID(ids[name]) for name in ("ada", "old", "call", "lead")]
    theirs = await rows(
        database,
        WebhookDelivery,
        WebhookDelivery.resource_id.in_(person_records),
        WebhookDelivery.event_type != "contact.erased",
    )
    answers = {a.delivery_id: a.response_body for a in await rows(database, WebhookAttempt)}
    assert theirs
    assert all(answers[d.id] is None for d in theirs)
    grace = await rows(
        database, WebhookDelivery, WebhookDelivery.resource_id == uuid.UUID(ids["grace"])
    )
    assert grace
    assert all(answers[d.id] == "answered 200" for d in grace)
    await drain(worker)  # the deliveries of the erasure's own events go out

    # The addresses are suppressed by hash alone.
    suppressed = await rows(database, Suppression)
    assert sorted(s.email_hash for s in suppressed) == sorted(
        email_hash(e) for e in ("ada@example.com", "ada.old@example.com")
    )
    assert all((s.email, s.reason) == (None, "erased") for s in suppressed)
    async with database.transaction() as session:
        service = SuppressionService(Context.bound(session, workspace.id))
        found = await service.erased_among(["ada@example.com", "grace@example.com"])
    assert found == {"ada@example.com"}

    # Nothing of the person is left anywhere, and the figures are as they were.
    state = repr(await snapshot(database))
    assert [p for p in PERSONAL if p in state] == []
    dashboard_after = await get(http, person.user_headers, "/dashboard")
    assert dashboard_after.pop("newContacts") == dashboard_before.pop("newContacts") - 1
    dashboard_before.pop("period"), dashboard_after.pop("period")
    assert dashboard_after == dashboard_before


async def test_a_queued_email_to_an_erased_person_is_never_sent(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    mail_server: MailServer,
    worker: Worker,
    database: Database,
) -> None:
    http, admin = dev_client, workspace.headers
    ada = await post(http, admin, "/contacts", {"email": "ada@example.com"})
    connection = await post(http, admin, "/outbound-email-connections", mail_server.connection())
    email = await post(
        http,
        admin,
        "/outbound-email",
        {
            "contactId": ada["id"],
            "connectionId": connection["id"],
            "subject": "Hello",
            "htmlBody": "<p>Hi</p>",
        },
        status=202,
    )
    assert (await erase(http, admin, ada["id"])).status_code == 200
    await drain(worker)
    assert mail_server.received == []
    stored = await get(http, admin, f"/outbound-email/{email['id']}")
    assert (stored["status"], stored["error"], stored["to"]) == (
        "failed",
        "Not sent: its recipient was erased",
        "",
    )


async def test_forgetting_an_erased_address_lifts_it(
    workspace: Workspace, database: Database
) -> None:
    async with database.transaction() as session:
        service = SuppressionService(Context.bound(session, workspace.id))
        await service.record_erased(" Ada@Example.com")
        await service.record_erased("ada@example.com")
        assert await service.erased_among(["ada@example.com"]) == {"ada@example.com"}
        assert await service.forget_erased("ADA@example.com") is True
        assert await service.forget_erased("ada@example.com") is False
        assert await service.erased_among(["ada@example.com"]) == set()


async def test_refused_erasures_and_exports_change_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    ada = await post(client, workspace.headers, "/contacts", {"email": "ada@example.com"})
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    assert_error(await erase(client, writer, ada["id"]), 403, "FORBIDDEN")
    forbidden = await client.get(f"{API}/contacts/{ada['id']}/export", headers=writer)
    assert_error(forbidden, 403, "FORBIDDEN")
    assert_error(await erase(client, other_workspace.headers, ada["id"]), 404, "NOT_FOUND")
    hidden = await client.get(f"{API}/contacts/{ada['id']}/export", headers=other_workspace.headers)
    assert_error(hidden, 404, "NOT_FOUND")
    assert_error(await erase(client, workspace.headers, str(uuid.uuid4())), 404, "NOT_FOUND")
    assert_error(await erase(client, workspace.headers, "nobody@example.com"), 404, "NOT_FOUND")
    long = await erase(client, workspace.headers, ada["id"], reason="x" * 201)
    assert_error(long, 422, "VALIDATION_FAILED")
    unknown = await erase(client, workspace.headers, ada["id"], why="because")
    assert_error(unknown, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before
    count = await rows(database, Contact, Contact.id == uuid.UUID(ada["id"]))
    assert len(count) == 1
