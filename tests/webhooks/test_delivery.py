"""Deliveries to a real HTTP receiver on loopback: signed, retried, ordered per record,
logged, replayable; failures disable the webhook with an event saying so."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from rapport.config import Settings
from rapport.domains import TASK_MODULES
from rapport.events.service import EventRecorder
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.models import Event, Job, JobState, WebhookAttempt, WebhookDelivery
from rapport.worker.loop import Worker
from rapport.worker.queue import enqueue
from tests.helpers import EVERY_WORKSPACE, Workspace, assert_error, make_settings, snapshot
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import Receiver, verify

pytestmark = pytest.mark.usefixtures("app")

WEBHOOKS = "/api/v1/webhooks"
CONTACTS = "/api/v1/contacts"


async def subscribe(
    http: httpx.AsyncClient, ws: Workspace, url: str, types: list[str] | None = None
) -> dict[str, Any]:
    response = await http.post(
        WEBHOOKS, json={"url": url, "eventTypes": types or ["contact.*"]}, headers=ws.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def new_contact(http: httpx.AsyncClient, ws: Workspace, email: str) -> dict[str, Any]:
    response = await http.post(CONTACTS, json={"email": email}, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def deliveries(http: httpx.AsyncClient, ws: Workspace, hook_id: str) -> list[dict[str, Any]]:
    response = await http.get(
        f"{WEBHOOKS}/{hook_id}/deliveries", params={"sort": "createdAt:asc"}, headers=ws.headers
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def delivery(
    http: httpx.AsyncClient, ws: Workspace, hook_id: str, delivery_id: str
) -> dict[str, Any]:
    response = await http.get(f"{WEBHOOKS}/{hook_id}/deliveries/{delivery_id}", headers=ws.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def die_during_request(worker: Worker, receiver: Receiver) -> None:
    """Let the worker claim a delivery and send it, stop it dead while the receiver holds the
    request (what kill -9 leaves: the claim, and nothing the run would have written), and wait
    until its lease runs out."""
    receiver.hold = asyncio.Event()
    receiver.holding.clear()
    running = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(receiver.holding.wait(), 10)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    receiver.hold.set()
    receiver.hold = None
    await asyncio.sleep(worker.lease.total_seconds() + 0.05)


async def test_a_change_is_delivered_signed_and_logged(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)

    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    assert verify(hook["secret"], received.headers, received.body)
    assert not verify("whsec_wrong", received.headers, received.body)
    body = received.json()
    assert body["type"] == "contact.created"
    assert body["resourceId"] == contact["id"]
    assert body["workspaceId"] == str(workspace.id)
    assert body["data"]["record"]["email"] == "ada@example.com"
    assert received.headers["rapport-event-id"] == body["id"]
    assert received.headers["rapport-event-type"] == "contact.created"
    assert received.headers["content-type"] == "application/json"
    assert int(received.headers["rapport-timestamp"]) == int(
        received.headers["rapport-signature"].split(",")[0][2:]
    )

    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert logged["status"] == "succeeded"
    assert logged["attempts"] == 1
    assert logged["responseStatus"] == 200
    assert logged["latencyMs"] >= 0
    assert logged["eventId"] == body["id"]
    detail = await delivery(dev_client, workspace, hook["id"], logged["id"])
    assert [a["responseStatus"] for a in detail["attemptLog"]] == [200]
    assert detail["attemptLog"][0]["responseBody"] == "answered 200"


async def test_a_receiver_failing_twice_gets_three_attempts_and_one_success(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    receiver.script["/hook"] = [500, 503]
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)

    assert len(receiver.requests) == 3
    assert len({r.headers["rapport-event-id"] for r in receiver.requests}) == 1
    assert [r.headers["rapport-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert logged["status"] == "succeeded"
    assert logged["attempts"] == 3
    detail = await delivery(dev_client, workspace, hook["id"], logged["id"])
    assert [a["responseStatus"] for a in detail["attemptLog"]] == [500, 503, 200]
    assert [a["number"] for a in detail["attemptLog"]] == [1, 2, 3]
    hook_now = (await dev_client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)).json()
    assert hook_now["data"]["consecutiveFailures"] == 0
    assert hook_now["data"]["active"] is True


async def test_after_a_rotation_deliveries_are_signed_with_the_new_secret(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    response = await dev_client.post(
        f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    rotated = response.json()["data"]["secret"]
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)

    [received] = receiver.requests
    assert verify(rotated, received.headers, received.body)
    assert not verify(hook["secret"], received.headers, received.body)


async def test_a_secret_stored_under_another_secret_key_is_not_sent_but_retried(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
    database: Database,
    tmp_path: Path,
) -> None:
    """A worker whose secret key is not the API's cannot decrypt the secret: it says so in the
    delivery log and sends nothing (no request signed with a wrong secret); the delivery is
    retried, and a worker with the right key delivers it."""
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    misconfigured = Settings(
        data_dir=tmp_path,
        secret_key="another-secret-key-" + "y" * 40,
        allow_private_webhooks=True,
        webhook_retry_base_seconds=0.0,
        embedded_worker=False,
    )
    await Worker(database, task_modules=TASK_MODULES, settings=misconfigured).run_once()

    assert receiver.requests == []
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert (logged["status"], logged["attempts"]) == ("pending", 1)
    assert "secret key" in logged["lastError"]
    assert logged["nextAttemptAt"] is not None

    await drain(worker)
    [received] = receiver.requests
    assert verify(hook["secret"], received.headers, received.body)
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert (logged["status"], logged["attempts"]) == ("succeeded", 2)


async def test_a_client_error_is_final_and_counted(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    receiver.script["/hook"] = [400]
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)

    assert len(receiver.requests) == 1
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert logged["status"] == "failed"
    assert logged["attempts"] == 1
    assert logged["responseStatus"] == 400
    assert logged["lastError"] == "HTTP 400"
    assert logged["finishedAt"] is not None
    hook_now = (await dev_client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)).json()
    assert hook_now["data"]["consecutiveFailures"] == 1
    assert hook_now["data"]["active"] is True


@pytest.mark.parametrize("status", [408, 429, 502])
async def test_timeouts_and_throttling_are_retried(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
    status: int,
) -> None:
    receiver.script["/hook"] = [status]
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)

    assert len(receiver.requests) == 2
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert (logged["status"], logged["attempts"]) == ("succeeded", 2)


async def test_an_unreachable_receiver_is_retried_later(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, tmp_path: Path
) -> None:
    hook = await subscribe(dev_client, workspace, "http://127.0.0.1:9/closed")
    await new_contact(dev_client, workspace, "ada@example.com")
    settings = make_settings(tmp_path, allow_private_webhooks=True)  # first retry after ~30 s
    await drain(Worker(database, task_modules=TASK_MODULES, settings=settings))

    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert logged["status"] == "pending"
    assert logged["attempts"] == 1
    assert logged["responseStatus"] is None
    assert "Connect" in logged["lastError"]
    assert logged["nextAttemptAt"] is not None
    async with database.session(platform=EVERY_WORKSPACE) as session:
        queued = await session.scalar(
            select(func.count()).select_from(Job).where(Job.task == "webhooks.deliver")
        )
    assert queued == 2  # the attempt that ran, and the next one


async def test_failing_past_the_retry_window_disables_the_webhook(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    database: Database,
    tmp_path: Path,
) -> None:
    receiver.script["/hook"] = [500]
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    settings = make_settings(tmp_path, allow_private_webhooks=True, webhook_retry_window_seconds=0)
    await drain(Worker(database, task_modules=TASK_MODULES, settings=settings))

    assert len(receiver.requests) == 1
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert logged["status"] == "failed"
    hook_now = (await dev_client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)).json()
    assert hook_now["data"]["active"] is False
    assert "HTTP 500" in hook_now["data"]["disabledReason"]
    assert hook_now["data"]["disabledAt"] is not None
    disabled = await dev_client.get(
        "/api/v1/events", params={"type": "webhook.disabled"}, headers=workspace.headers
    )
    [event] = disabled.json()["data"]
    assert event["resourceId"] == hook["id"]
    assert event["actor"]["type"] == "system"

    # Later changes are not delivered to a disabled webhook.
    await new_contact(dev_client, workspace, "grace@example.com")
    await drain(Worker(database, task_modules=TASK_MODULES, settings=settings))
    assert len(receiver.requests) == 1


async def test_gone_disables_the_webhook_at_once(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    receiver.script["/hook"] = [410]
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)

    hook_now = (await dev_client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)).json()
    assert hook_now["data"]["active"] is False
    assert "410" in hook_now["data"]["disabledReason"]


async def test_changes_of_one_record_arrive_in_order_even_through_retries(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    receiver.script["/hook"] = [500, 500]
    hook = await subscribe(dev_client, workspace, receiver.url())
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    for name in ("Ada", "Ada L.", "Ada Lovelace"):
        response = await dev_client.patch(
            f"{CONTACTS}/{contact['id']}", json={"name": name}, headers=workspace.headers
        )
        assert response.status_code == 200, response.text
    other = await new_contact(dev_client, workspace, "grace@example.com")

    await drain(worker)

    received = [r.json() for r in receiver.requests]
    assert len(received) == 5 + 2  # two attempts failed
    of_ada = [b for b in received if b["resourceId"] == contact["id"]]
    types = [b["type"] for b in of_ada]
    assert types == ["contact.created"] * types.count("contact.created") + ["contact.updated"] * 3
    assert [b["data"]["record"]["name"] for b in of_ada if b["type"] == "contact.updated"] == [
        "Ada",
        "Ada L.",
        "Ada Lovelace",
    ]
    assert any(b["resourceId"] == other["id"] for b in received)
    logged = await deliveries(dev_client, workspace, hook["id"])
    assert {d["status"] for d in logged} == {"succeeded"}
    assert len(logged) == 5


async def test_the_dispatch_queues_one_delivery_per_record_and_holds_the_rest(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    await dev_client.patch(
        f"{CONTACTS}/{contact['id']}", json={"name": "Ada"}, headers=workspace.headers
    )
    await worker.follow_streams(force=True)

    logged = await deliveries(dev_client, workspace, hook["id"])
    assert [(d["eventType"], d["status"]) for d in logged] == [
        ("contact.created", "pending"),
        ("contact.updated", "waiting"),
    ]


async def test_replay_sends_the_event_again_as_a_new_delivery(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)
    [first] = await deliveries(dev_client, workspace, hook["id"])

    response = await dev_client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{first['id']}/replay", headers=workspace.headers
    )
    assert response.status_code == 202, response.text
    replay = response.json()["data"]
    assert replay["replayOf"] == first["id"]
    assert replay["status"] == "pending"
    assert replay["eventId"] == first["eventId"]
    await drain(worker)

    assert len(receiver.requests) == 2
    assert {r.headers["rapport-event-id"] for r in receiver.requests} == {first["eventId"]}
    assert receiver.requests[1].headers["rapport-delivery-id"] == replay["id"]
    done = await delivery(dev_client, workspace, hook["id"], replay["id"])
    assert (done["status"], done["attempts"]) == ("succeeded", 1)


async def test_only_subscribed_types_of_the_own_workspace_are_delivered(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
) -> None:
    await subscribe(dev_client, workspace, receiver.url("/deleted"), ["contact.deleted"])
    await subscribe(dev_client, workspace, receiver.url("/all"), ["*"])
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    await new_contact(dev_client, other_workspace, "intruder@example.com")
    response = await dev_client.delete(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)
    assert response.status_code == 200
    await drain(worker)

    assert [r.json()["type"] for r in receiver.at("/deleted")] == ["contact.deleted"]
    everything = [r.json() for r in receiver.at("/all")]
    assert {b["workspaceId"] for b in everything} == {str(workspace.id)}
    assert "intruder@example.com" not in str(everything)
    assert [b["type"] for b in everything if b["resourceType"] == "contact"] == [
        "contact.created",
        "contact.deleted",
    ]


async def test_a_refused_change_leaves_no_event_no_delivery_and_no_job(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
    database: Database,
) -> None:
    await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(worker)
    before = await snapshot(database)

    response = await dev_client.post(
        CONTACTS, json={"email": "ada@example.com"}, headers=workspace.headers
    )
    assert_error(response, 409, "CONTACT_EMAIL_EXISTS")
    await drain(worker)

    assert len(receiver.requests) == 1
    after = await snapshot(database)
    for table in ("events", "webhook_deliveries", "jobs", "contacts"):
        assert after[table] == before[table], table


async def test_a_committed_change_has_its_event_then_its_delivery_job(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
    database: Database,
) -> None:
    await subscribe(dev_client, workspace, receiver.url())
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    await worker.follow_streams(force=True)

    async with database.session(platform=EVERY_WORKSPACE) as session:
        event = await session.scalar(
            select(Event).where(Event.resource_id == uuid.UUID(contact["id"]))
        )
        assert event is not None
        queued = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
        )
        assert queued is not None
        jobs = (await session.scalars(select(Job).where(Job.task == "webhooks.deliver"))).all()
    assert [j.payload for j in jobs] == [{"deliveryId": str(queued.id)}]


async def test_an_address_that_turned_private_is_refused_at_delivery(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    database: Database,
    tmp_path: Path,
) -> None:
    """The webhook was saved while private addresses and plain http were allowed; a worker
    that does not allow them refuses to send and does not retry."""
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await drain(Worker(database, task_modules=TASK_MODULES, settings=make_settings(tmp_path)))

    assert receiver.requests == []
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert logged["status"] == "failed"
    assert logged["lastError"].startswith("Must be an https:// URL")
    assert logged["attempts"] == 1


async def test_deliveries_of_a_deleted_webhook_are_dropped(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await worker.follow_streams(force=True)
    response = await dev_client.delete(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)
    assert response.status_code == 204
    await drain(worker)

    assert receiver.requests == []


async def test_a_paused_webhook_fails_its_queued_deliveries_without_calling(
    dev_client: httpx.AsyncClient, workspace: Workspace, receiver: Receiver, worker: Worker
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await worker.follow_streams(force=True)
    response = await dev_client.patch(
        f"{WEBHOOKS}/{hook['id']}", json={"active": False}, headers=workspace.headers
    )
    assert response.status_code == 200
    await drain(worker)

    assert receiver.requests == []
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert (logged["status"], logged["lastError"]) == ("failed", "The webhook is not active")
    replay = await dev_client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{logged['id']}/replay", headers=workspace.headers
    )
    assert_error(replay, 409, "WEBHOOK_INACTIVE")


async def test_the_daily_purge_drops_delivery_logs_older_than_30_days(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
    database: Database,
) -> None:
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    await new_contact(dev_client, workspace, "grace@example.com")
    await drain(worker)
    old, recent = await deliveries(dev_client, workspace, hook["id"])
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == uuid.UUID(old["id"]))
            .values(finished_at=utcnow() - timedelta(days=31))
        )
        await enqueue(session, "webhooks.purge")
    await drain(worker)

    assert [d["id"] for d in await deliveries(dev_client, workspace, hook["id"])] == [recent["id"]]
    async with database.session(platform=EVERY_WORKSPACE) as session:
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert attempts == 1


async def test_an_event_that_cannot_be_encoded_fails_its_delivery_at_once_and_the_next_goes(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    worker: Worker,
    database: Database,
) -> None:
    """An event holding an integer beyond 64 bits (written here below the API, which is to
    refuse such values) cannot be sent: its delivery fails at once saying why, and the record's
    next change is delivered."""
    hook = await subscribe(dev_client, workspace, receiver.url())
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    async with database.transaction(workspace=workspace.id) as session:
        record = {**contact, "properties": {"seats": 10**30}}
        EventRecorder(Context.bound(session, workspace.id)).record(
            "contact.updated", "contact", uuid.UUID(contact["id"]), {"record": record}
        )
    response = await dev_client.patch(
        f"{CONTACTS}/{contact['id']}", json={"name": "Ada"}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    await drain(worker)

    sent = [(r.json()["type"], r.json()["data"]["record"]["name"]) for r in receiver.requests]
    assert sent == [("contact.created", None), ("contact.updated", "Ada")]
    created, poisoned, renamed = await deliveries(dev_client, workspace, hook["id"])
    assert (created["status"], renamed["status"]) == ("succeeded", "succeeded")
    assert (poisoned["status"], poisoned["attempts"]) == ("failed", 1)
    assert "cannot be encoded as JSON" in poisoned["lastError"]
    assert "64-bit" in poisoned["lastError"]
    assert poisoned["finishedAt"] is not None
    async with database.session(platform=EVERY_WORKSPACE) as session:
        states = await session.scalars(select(Job.state).where(Job.task == "webhooks.deliver"))
        assert set(states) == {JobState.SUCCEEDED}


async def test_a_delivery_whose_job_dies_fails_and_the_next_of_its_record_goes(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    database: Database,
    tmp_path: Path,
) -> None:
    """Workers die during every attempt of a delivery until its job has no attempts left: the
    delivery fails saying so, instead of holding up the record's later deliveries forever."""
    hook = await subscribe(dev_client, workspace, receiver.url())
    contact = await new_contact(dev_client, workspace, "ada@example.com")
    response = await dev_client.patch(
        f"{CONTACTS}/{contact['id']}", json={"name": "Ada"}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    settings = make_settings(tmp_path, allow_private_webhooks=True)
    dying = Worker(database, task_modules=TASK_MODULES, settings=settings, lease_seconds=0.2)
    for _ in range(dying.tasks["webhooks.deliver"].max_attempts):
        await die_during_request(dying, receiver)
    await drain(dying)

    first, second = await deliveries(dev_client, workspace, hook["id"])
    assert first["status"] == "failed"
    assert "could not carry out this delivery" in first["lastError"]
    assert "the lease ran out" in first["lastError"]
    assert second["status"] == "succeeded"
    sent = [(r.json()["type"], r.headers["rapport-attempt"]) for r in receiver.requests]
    assert sent == [("contact.created", str(n)) for n in range(1, 6)] + [("contact.updated", "1")]


async def test_a_request_sent_again_after_its_worker_died_is_a_new_attempt(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    receiver: Receiver,
    database: Database,
    tmp_path: Path,
) -> None:
    """A worker is killed while its request is in flight; once the lease runs out another run
    sends the delivery again. The receiver sees attempt 2 (then 3 after a 500), never attempt 1
    twice, and the log numbers the attempts it recorded alike."""
    receiver.script["/hook"] = [200, 500]  # the first answer never reaches the killed worker
    hook = await subscribe(dev_client, workspace, receiver.url())
    await new_contact(dev_client, workspace, "ada@example.com")
    settings = make_settings(tmp_path, allow_private_webhooks=True, webhook_retry_base_seconds=0.0)
    dying = Worker(database, task_modules=TASK_MODULES, settings=settings, lease_seconds=0.2)
    await die_during_request(dying, receiver)
    await drain(dying)

    assert [r.headers["rapport-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.headers["rapport-delivery-id"] for r in receiver.requests}) == 1
    assert len({r.headers["rapport-event-id"] for r in receiver.requests}) == 1
    [logged] = await deliveries(dev_client, workspace, hook["id"])
    assert (logged["status"], logged["attempts"]) == ("succeeded", 3)
    detail = await delivery(dev_client, workspace, hook["id"], logged["id"])
    log = [(a["number"], a["responseStatus"]) for a in detail["attemptLog"]]
    assert log == [(2, 500), (3, 200)]
