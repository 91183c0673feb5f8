"""An erased person's email comes back only with `reconsent: true`: single and batch creates,
upserts and updates."""

from __future__ import annotations

import httpx

from rapport.kit.db import Database
from tests.contacts.requests import API
from tests.helpers import Workspace, assert_error, snapshot


async def erased(client: httpx.AsyncClient, ws: Workspace, email: str) -> None:
    created = await client.post(API, json={"email": email}, headers=ws.headers)
    assert created.status_code == 201, created.text
    contact_id = created.json()["data"]["id"]
    gone = await client.post(f"{API}/{contact_id}/erase", json={}, headers=ws.headers)
    assert gone.status_code == 200, gone.text


async def test_an_erased_email_is_refused_without_reconsent(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await erased(client, workspace, "ada@example.com")
    other = await client.post(API, json={"email": "bob@example.com"}, headers=workspace.headers)
    bob = other.json()["data"]["id"]
    before = await snapshot(database)

    created = await client.post(API, json={"email": "ADA@example.com"}, headers=workspace.headers)
    error = assert_error(created, 409, "CONTACT_ERASED")
    assert error["details"][0]["field"] == "email"
    upserted = await client.post(
        API, json={"email": "ada@example.com", "upsert": True}, headers=workspace.headers
    )
    assert_error(upserted, 409, "CONTACT_ERASED")
    moved = await client.patch(
        f"{API}/{bob}", json={"email": "ada@example.com"}, headers=workspace.headers
    )
    assert_error(moved, 409, "CONTACT_ERASED")
    batch = await client.post(
        f"{API}/batch",
        json={"records": [{"email": "ada@example.com"}], "upsert": True},
        headers=workspace.headers,
    )
    assert batch.status_code == 207
    assert batch.json()["data"][0]["error"]["code"] == "CONTACT_ERASED"
    assert await snapshot(database) == before


async def test_reconsent_takes_the_email_back_for_good(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await erased(client, workspace, "ada@example.com")
    await erased(client, workspace, "eve@example.com")

    back = await client.post(
        API, json={"email": "ada@example.com", "reconsent": True}, headers=workspace.headers
    )
    assert back.status_code == 201, back.text
    removed = await client.delete(f"{API}/ada@example.com", headers=workspace.headers)
    assert removed.status_code == 200
    again = await client.post(API, json={"email": "ada@example.com"}, headers=workspace.headers)
    assert again.status_code == 201, again.text

    batch = await client.post(
        f"{API}/batch",
        json={"records": [{"email": "eve@example.com", "reconsent": True}]},
        headers=workspace.headers,
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["data"][0]["status"] == "created"
