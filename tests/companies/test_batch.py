"""Batch writes of companies: POST /companies/batch (create, upsert by externalId or domain)."""

from __future__ import annotations

from typing import Any

import httpx

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, events_of_type, make_workspace, snapshot

API = "/api/v1/companies"
BATCH = f"{API}/batch"


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def batch(
    client: httpx.AsyncClient, ws: Workspace, records: Any, **extra: Any
) -> httpx.Response:
    return await client.post(BATCH, json={"records": records, **extra}, headers=ws.headers)


async def test_a_batch_creates_companies_and_fails_bad_records_alone(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    held = await create(client, workspace, name="Held", domain="held.example")
    records = [
        {"name": "Northwind", "domain": "https://www.Northwind.example/about"},
        {"name": "Held again", "domain": "held.example"},
        {"name": ""},
        {"name": "Northwind copy", "domain": "northwind.example"},
        {"name": "Globex", "externalId": "sf-1", "properties": {"tier": "gold"}},
    ]
    response = await batch(client, workspace, records)

    assert response.status_code == 207, response.text
    body = response.json()
    assert [item["status"] for item in body["data"]] == [
        "created",
        "failed",
        "failed",
        "failed",
        "created",
    ]
    assert body["data"][0]["record"]["domain"] == "northwind.example"
    assert body["data"][1]["error"]["code"] == "COMPANY_DOMAIN_EXISTS"
    assert body["data"][1]["error"]["details"][0]["existingId"] == held["id"]
    assert body["data"][2]["error"]["details"][0]["field"] == "name"
    assert body["data"][3]["error"]["code"] == "DUPLICATE_IN_BATCH"
    assert body["data"][4]["record"]["properties"] == {"tier": "gold"}
    listed = await client.get(API, headers=workspace.headers)
    assert sorted(c["name"] for c in listed.json()["data"]) == ["Globex", "Held", "Northwind"]
    created = await events_of_type(client, workspace, "company.created")
    assert len(created) == 3


async def test_an_upsert_batch_updates_by_external_id_then_domain(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    by_external = await create(client, workspace, name="Acme", externalId="sf-1")
    by_domain = await create(client, workspace, name="Initech", domain="initech.example")
    records = [
        {"name": "Acme Corp", "externalId": "sf-1", "domain": "acme.example"},
        {"name": "Initech", "domain": "initech.example", "industry": "Software"},
        {"name": "Initech", "domain": "initech.example"},
        {"name": "Hooli", "domain": "hooli.example"},
    ]
    response = await batch(client, workspace, records, upsert=True)

    assert response.status_code == 207, response.text
    body = response.json()
    assert [item["status"] for item in body["data"]] == [
        "updated",
        "updated",
        "failed",
        "created",
    ]
    assert body["data"][0]["id"] == by_external["id"]
    assert body["data"][0]["record"]["domain"] == "acme.example"
    assert body["data"][1]["id"] == by_domain["id"]
    assert body["data"][1]["record"]["industry"] == "Software"
    assert body["data"][2]["error"]["code"] == "DUPLICATE_IN_BATCH"
    updated = await events_of_type(client, workspace, "company.updated")
    assert sorted(e["resourceId"] for e in updated) == sorted([by_external["id"], by_domain["id"]])
    unchanged = await batch(
        client, workspace, [{"name": "Hooli", "domain": "hooli.example"}], upsert=True
    )
    assert unchanged.json()["data"][0]["status"] == "unchanged"


async def test_refused_company_batches_change_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    other = await make_workspace(database, "Other")
    theirs = await create(client, other, name="Theirs", domain="theirs.example")
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    refused = [
        await client.post(BATCH, json={"records": []}, headers=workspace.headers),
        await client.post(
            BATCH, json={"records": [{"name": "x"}] * 1001}, headers=workspace.headers
        ),
        await client.post(BATCH, json={"records": [{"name": "x"}]}, headers=reader),
    ]
    assert [r.status_code for r in refused] == [422, 422, 403]
    assert await snapshot(database) == before
    mine = await batch(
        client, workspace, [{"name": "Mine", "domain": "theirs.example"}], upsert=True
    )
    assert mine.json()["data"][0]["status"] == "created"
    assert mine.json()["data"][0]["id"] != theirs["id"]
    still = await client.get(f"{API}/{theirs['id']}", headers=other.headers)
    assert still.json()["data"]["name"] == "Theirs"
