"""Batch creation of leads: POST /leads/batch."""

from __future__ import annotations

import uuid

import httpx

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, events_of_type, snapshot
from tests.sales.conftest import API, create_lead

BATCH = f"{API}/leads/batch"


async def test_a_batch_creates_each_lead_or_says_why_not(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    contact = await client.post(
        f"{API}/contacts", json={"email": "buyer@example.com"}, headers=workspace.headers
    )
    contact_id = contact.json()["data"]["id"]
    records = [
        {"title": "Renewal", "value": "1200.5", "currency": "usd", "contactId": contact_id},
        {"title": "Unknown contact", "contactId": str(uuid.uuid4())},
        {"title": "Bad money", "value": "12.345", "currency": "USD"},
        {"value": "10", "currency": "USD"},
        {"title": "Pilot"},
    ]
    response = await client.post(BATCH, json={"records": records}, headers=workspace.headers)

    assert response.status_code == 207, response.text
    body = response.json()
    assert [item["status"] for item in body["data"]] == [
        "created",
        "failed",
        "failed",
        "failed",
        "created",
    ]
    first = body["data"][0]["record"]
    assert (first["value"], first["currency"], first["contactId"]) == ("1200.50", "USD", contact_id)
    assert first["stage"]["systemKey"] == "new"
    assert body["data"][1]["error"]["details"][0]["field"] == "contactId"
    assert body["data"][2]["error"]["details"][0]["field"] == "value"
    assert body["data"][3]["error"]["details"][0]["field"] == "title"
    assert body["meta"]["created"] == 2
    listed = await client.get(f"{API}/leads", headers=workspace.headers)
    assert sorted(lead["title"] for lead in listed.json()["data"]) == ["Pilot", "Renewal"]
    created = await events_of_type(client, workspace, "lead.created")
    assert {e["resourceId"] for e in created} == {body["data"][0]["id"], body["data"][4]["id"]}


async def test_refused_lead_batches_change_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await create_lead(client, workspace)
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    refused = [
        await client.post(BATCH, json={"records": []}, headers=workspace.headers),
        await client.post(
            BATCH, json={"records": [{"title": "x"}], "upsert": True}, headers=workspace.headers
        ),
        await client.post(BATCH, json={"records": [{"title": "x"}]}, headers=reader),
    ]
    assert [r.status_code for r in refused] == [422, 422, 403]
    assert await snapshot(database) == before
