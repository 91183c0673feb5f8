"""The total of the unfiltered contact list comes from the count the database keeps
(`live_counts`, kept by triggers): it must equal a count of the rows after every kind of
write, through the API or straight into the table, and stay per workspace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.models import Contact, ContactStatus, LiveCount
from tests.helpers import EVERY_WORKSPACE, Workspace

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1/contacts"


async def _create(client: httpx.AsyncClient, ws: Workspace, name: str) -> dict[str, Any]:
    response = await client.post(API, json={"name": name}, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _listed_total(client: httpx.AsyncClient, ws: Workspace) -> int:
    response = await client.get(API, params={"limit": 1}, headers=ws.headers)
    assert response.status_code == 200, response.text
    total: int = response.json()["meta"]["total"]
    return total


async def _counted(database: Database, ws: Workspace) -> tuple[int, int]:
    """(the kept count, a count of the live rows) of the workspace."""
    async with database.session(workspace=ws.id) as session:
        kept = await session.scalar(select(func.coalesce(func.sum(LiveCount.live), 0)))
        rows = await session.scalar(
            select(func.count()).where(Contact.status.not_in(["DELETED", "MERGED"]))
        )
    return int(kept or 0), int(rows or 0)


async def test_the_total_follows_creates_deletes_restores_and_merges(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    ada, grace, alan = [await _create(client, workspace, n) for n in ("Ada", "Grace", "Alan")]
    await _create(client, other_workspace, "Edsger")
    assert await _listed_total(client, workspace) == 3
    assert await _listed_total(client, other_workspace) == 1

    assert (await client.delete(f"{API}/{ada['id']}", headers=workspace.headers)).is_success
    assert await _listed_total(client, workspace) == 2
    restored = await client.patch(
        f"{API}/{ada['id']}", json={"status": "ACTIVE"}, headers=workspace.headers
    )
    assert restored.is_success
    archived = await client.patch(
        f"{API}/{alan['id']}", json={"status": "ARCHIVED"}, headers=workspace.headers
    )
    assert archived.is_success  # archived contacts are live: listed, counted
    assert await _listed_total(client, workspace) == 3
    merged = await client.post(
        f"{API}/{ada['id']}/merge", json={"loserId": grace["id"]}, headers=workspace.headers
    )
    assert merged.is_success, merged.text
    assert await _listed_total(client, workspace) == 2
    assert await _counted(database, workspace) == (2, 2)
    assert await _counted(database, other_workspace) == (1, 1)


async def test_bulk_statements_are_counted_too(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "tenant_id": workspace.id,
            "name": f"Bulk {n}",
            "status": ContactStatus.DELETED if n % 5 == 0 else ContactStatus.ACTIVE,
            "properties": {},
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(50)
    ]
    async with database.transaction(workspace=workspace.id) as session:
        await session.execute(insert(Contact), rows)
    assert await _counted(database, workspace) == (40, 40)
    async with database.transaction(workspace=workspace.id) as session:
        await session.execute(
            update(Contact)
            .where(Contact.name.in_([f"Bulk {n}" for n in range(10)]))
            .values(status=ContactStatus.MERGED)
            .execution_options(synchronize_session=False)
        )
    assert await _counted(database, workspace) == (32, 32)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(delete(Contact).where(Contact.name.in_(["Bulk 11", "Bulk 15"])))
    assert await _counted(database, workspace) == (31, 31)
    assert await _listed_total(client, workspace) == 31


async def test_filtered_totals_are_still_counted_from_the_rows(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await _create(client, workspace, "Ada")
    await _create(client, workspace, "Grace")
    await client.delete(f"{API}/{ada['id']}", headers=workspace.headers)
    deleted = await client.get(API, params={"status": "DELETED"}, headers=workspace.headers)
    assert deleted.json()["meta"]["total"] == 1
    named = await client.get(API, params={"search": "grace"}, headers=workspace.headers)
    assert named.json()["meta"]["total"] == 1


async def test_an_empty_workspace_totals_zero(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    assert await _listed_total(client, workspace) == 0
