"""Batch writes of contacts: POST /contacts/batch (create, upsert) and /contacts/batch/delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from rapport.kit.db import Database
from tests.contacts.requests import API, RECORD_FIELDS
from tests.helpers import (
    Workspace,
    add_key,
    assert_error,
    custom_client,
    events_of_type,
    make_workspace,
    snapshot,
)

BATCH = f"{API}/batch"
DELETE = f"{API}/batch/delete"


async def batch(
    client: httpx.AsyncClient, ws: Workspace, records: Any, **extra: Any
) -> httpx.Response:
    return await client.post(BATCH, json={"records": records, **extra}, headers=ws.headers)


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def live_emails(client: httpx.AsyncClient, ws: Workspace) -> list[str]:
    response = await client.get(API, params={"limit": 100}, headers=ws.headers)
    assert response.status_code == 200, response.text
    return sorted(c["email"] for c in response.json()["data"] if c["email"])


def statuses(body: dict[str, Any]) -> list[str]:
    return [item["status"] for item in body["data"]]


async def test_a_batch_creates_every_record_with_its_event(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    records = [
        {"email": "Ann@Example.com", "givenName": "Ann", "properties": {"plan": "Pro"}},
        {"externalId": "crm-2", "name": "Bob"},
        {"phone": "+14155552671"},
    ]
    response = await batch(client, workspace, records)

    assert response.status_code == 200, response.text
    body = response.json()
    assert statuses(body) == ["created"] * 3
    assert body["meta"] == {
        "total": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "failed": 0,
    }
    first = body["data"][0]
    assert first["index"] == 0
    assert first["error"] is None
    assert set(first["record"]) == RECORD_FIELDS
    assert first["id"] == first["record"]["id"]
    assert first["record"]["email"] == "ann@example.com"
    assert first["record"]["name"] == "Ann"
    assert body["data"][2]["record"]["phone"] == "+14155552671"
    stored = await client.get(f"{API}/{first['id']}", headers=workspace.headers)
    assert stored.json()["data"]["properties"] == {"plan": "Pro"}
    created = await events_of_type(client, workspace, "contact.created")
    assert {e["resourceId"] for e in created} == {item["id"] for item in body["data"]}


async def test_a_bad_record_fails_alone_with_the_error_a_single_call_gives(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    held = await create(client, workspace, email="held@example.com")
    records = [
        {"email": "not an email"},
        {"email": "held@example.com"},
        {"email": "good@example.com"},
        {"email": "GOOD@example.com", "name": "Twice"},
        {"name": "Wrong field", "colour": "red"},
        "not an object",
        {},
    ]
    response = await batch(client, workspace, records)

    assert response.status_code == 207, response.text
    body = response.json()
    assert statuses(body) == ["failed", "failed", "created", "failed", "failed", "failed", "failed"]
    errors = [item["error"] for item in body["data"]]
    assert errors[0]["code"] == "VALIDATION_FAILED"
    assert errors[0]["details"][0]["field"] == "email"
    assert errors[1]["code"] == "CONTACT_EMAIL_EXISTS"
    assert errors[1]["details"][0]["existingId"] == held["id"]
    assert errors[3]["code"] == "DUPLICATE_IN_BATCH"
    assert "records[2]" in errors[3]["message"]
    assert errors[4]["code"] == "VALIDATION_FAILED"
    assert errors[4]["details"][0]["field"] == "colour"
    assert errors[5]["code"] == "VALIDATION_FAILED"
    assert errors[6]["details"][0]["field"] == "email"
    assert all(body["data"][i]["record"] is None for i in (0, 1, 3, 4, 5, 6))
    assert body["meta"]["failed"] == 6
    assert body["meta"]["created"] == 1
    assert await live_emails(client, workspace) == ["good@example.com", "held@example.com"]
    assert len(await events_of_type(client, workspace, "contact.created")) == 2


async def test_an_upsert_batch_updates_by_external_id_then_email_and_creates_the_rest(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    by_external = await create(client, workspace, externalId="crm-1", email="one@example.com")
    by_email = await create(client, workspace, email="two@example.com", name="Two")
    same = await create(client, workspace, email="same@example.com", name="Same")
    records = [
        {"externalId": "crm-1", "email": "uno@example.com", "properties": {"tier": "gold"}},
        {"email": "two@example.com", "lifecycleStage": "CUSTOMER"},
        {"email": "same@example.com", "name": "Same"},
        {"email": "one@example.com", "name": "Takes the freed address"},
    ]
    response = await batch(client, workspace, records, upsert=True)

    assert response.status_code == 200, response.text
    body = response.json()
    assert statuses(body) == ["updated", "updated", "unchanged", "created"]
    assert [item["id"] for item in body["data"][:3]] == [
        by_external["id"],
        by_email["id"],
        same["id"],
    ]
    first = body["data"][0]["record"]
    assert first["email"] == "uno@example.com"
    assert first["properties"] == {"tier": "gold"}
    assert body["data"][1]["record"]["name"] == "Two"
    assert body["data"][1]["record"]["lifecycleStage"] == "CUSTOMER"
    assert body["data"][3]["record"]["email"] == "one@example.com"
    updated = await events_of_type(client, workspace, "contact.updated")
    assert sorted(e["resourceId"] for e in updated) == sorted([by_external["id"], by_email["id"]])
    assert await live_emails(client, workspace) == [
        "one@example.com",
        "same@example.com",
        "two@example.com",
        "uno@example.com",
    ]


async def test_without_upsert_an_existing_external_id_fails_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    held = await create(client, workspace, externalId="crm-9")
    response = await batch(client, workspace, [{"externalId": "crm-9", "name": "Again"}])

    assert response.status_code == 207
    error = response.json()["data"][0]["error"]
    assert error["code"] == "CONTACT_EXTERNAL_ID_EXISTS"
    assert error["details"][0]["existingId"] == held["id"]


async def test_property_rules_apply_to_each_record(
    client: httpx.AsyncClient, database: Database
) -> None:
    ws = await make_workspace(database, "Typed", settings={})
    defined = await client.post(
        "/api/v1/properties",
        json={"entity": "CONTACT", "key": "seats", "label": "Seats", "type": "NUMBER"},
        headers=ws.headers,
    )
    assert defined.status_code == 201, defined.text
    records = [
        {"email": "a@example.com", "properties": {"seats": 12}},
        {"email": "b@example.com", "properties": {"seats": "many"}},
        {"email": "c@example.com", "properties": {"undefined": 1}},
    ]
    response = await batch(client, ws, records)

    assert response.status_code == 207, response.text
    body = response.json()
    assert statuses(body) == ["created", "failed", "failed"]
    assert body["data"][1]["error"]["details"][0]["field"] == "properties.seats"
    assert body["data"][2]["error"]["details"][0]["field"] == "properties.undefined"
    assert await live_emails(client, ws) == ["a@example.com"]
    by_seats = await client.post(
        "/api/v1/query", json={"entity": "contact", "where": "seats > 10"}, headers=ws.headers
    )
    assert [c["id"] for c in by_seats.json()["data"]] == [body["data"][0]["id"]]


async def test_refused_batches_change_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    refusals = [
        (await client.post(BATCH, json={"records": []}, headers=workspace.headers), 422),
        (await batch(client, workspace, [{"name": "x"}] * 1001), 422),
        (await batch(client, workspace, {"name": "not a list"}), 422),
        (await client.post(BATCH, json={"upsert": True}, headers=workspace.headers), 422),
        (await batch(client, workspace, [{"name": "x"}], colour="red"), 422),
        (await client.post(BATCH, json={"records": [{"name": "x"}]}, headers=reader), 403),
        (await client.post(BATCH, json={"records": [{"name": "x"}]}), 401),
        (
            await client.post(
                BATCH,
                content=b"[",
                headers={**workspace.headers, "Content-Type": "application/json"},
            ),
            400,
        ),
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
    assert await snapshot(database) == before


async def test_batch_bodies_may_exceed_the_usual_limit_up_to_their_own(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    records = [{"email": f"p{i}@example.com", "name": "n" * 250} for i in range(40)]
    async with custom_client(
        database, tmp_path, max_body_bytes=2_000, max_batch_body_bytes=20_000
    ) as http:
        accepted = await http.post(BATCH, json={"records": records}, headers=workspace.headers)
        assert accepted.status_code == 200, accepted.text
        before = await snapshot(database)
        too_large = await http.post(BATCH, json={"records": records * 2}, headers=workspace.headers)
        assert_error(too_large, 413, "PAYLOAD_TOO_LARGE")
        elsewhere = await http.post(API, json={"name": "n" * 2_100}, headers=workspace.headers)
        assert_error(elsewhere, 413, "PAYLOAD_TOO_LARGE")
        assert await snapshot(database) == before


async def test_batches_count_against_the_bulk_rate_limit(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    limited = await client.patch(
        "/api/v1/workspace",
        json={"settings": {"rateLimits": {"bulk": "1/minute"}}},
        headers=workspace.headers,
    )
    assert limited.status_code == 200, limited.text
    first = await batch(client, workspace, [{"email": "first@example.com"}])
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "1"
    before = await snapshot(database)
    second = await batch(client, workspace, [{"email": "second@example.com"}])
    assert_error(second, 429, "RATE_LIMITED")
    assert await snapshot(database) == before
    single = await client.post(API, json={"email": "single@example.com"}, headers=workspace.headers)
    assert single.status_code == 201


async def test_an_idempotency_key_replays_a_partial_batch(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "batch-1"}
    body = {"records": [{"email": "once@example.com"}, {"email": "bad"}]}
    first = await client.post(BATCH, json=body, headers=headers)
    again = await client.post(BATCH, json=body, headers=headers)

    assert first.status_code == again.status_code == 207
    assert again.json() == first.json()
    assert await live_emails(client, workspace) == ["once@example.com"]


async def test_a_batch_reaches_only_its_own_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    other = await make_workspace(database, "Other")
    theirs = await create(client, other, email="shared@example.com", externalId="crm-7")
    response = await batch(
        client, workspace, [{"email": "shared@example.com", "externalId": "crm-7"}], upsert=True
    )
    assert response.status_code == 200
    mine = response.json()["data"][0]
    assert mine["status"] == "created"
    assert mine["id"] != theirs["id"]
    deleted = await client.post(DELETE, json={"ids": [theirs["id"]]}, headers=workspace.headers)
    assert deleted.status_code == 207
    assert deleted.json()["data"][0]["error"]["code"] == "NOT_FOUND"
    unchanged = await client.get(f"{API}/{theirs['id']}", headers=other.headers)
    assert unchanged.json()["data"]["status"] == "ACTIVE"
    assert unchanged.json()["data"]["updatedAt"] == theirs["updatedAt"]


async def test_a_batch_delete_reports_each_contact(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    one = await create(client, workspace, email="one@example.com")
    two = await create(client, workspace, externalId="crm-2")
    gone = await create(client, workspace, email="gone@example.com")
    removed = await client.delete(f"{API}/{gone['id']}", headers=workspace.headers)
    assert removed.status_code == 200
    ids = [one["id"], "crm-2", gone["id"], "nobody@example.com"]
    response = await client.post(DELETE, json={"ids": ids}, headers=workspace.headers)

    assert response.status_code == 207, response.text
    body = response.json()
    assert statuses(body) == ["deleted", "deleted", "unchanged", "failed"]
    assert body["data"][1]["id"] == two["id"]
    assert body["data"][0]["record"]["status"] == "DELETED"
    assert body["data"][3]["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["deleted"] == 2
    deleted_events = await events_of_type(client, workspace, "contact.deleted")
    assert {e["resourceId"] for e in deleted_events} == {one["id"], two["id"], gone["id"]}
    assert await live_emails(client, workspace) == []

    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    refused = [
        await client.post(DELETE, json={"ids": []}, headers=workspace.headers),
        await client.post(DELETE, json={"ids": [""]}, headers=workspace.headers),
        await client.post(DELETE, json={"ids": [one["id"]]}, headers=reader),
    ]
    assert [r.status_code for r in refused] == [422, 422, 403]
    assert await snapshot(database) == before
