"""Concurrent transactions of one process: writers queue instead of blocking the event loop."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from rapport.contacts.schemas import ContactCreate, ContactUpdate
from rapport.contacts.service import ContactService, contact_etag
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.errors import PreconditionFailed
from rapport.models import Contact, Tenant
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, Workspace


async def test_concurrent_creates_all_succeed(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/contacts",
                json={"email": f"burst{i}@example.com"},
                headers=workspace.headers,
            )
            for i in range(20)
        )
    )
    assert [r.status_code for r in responses] == [201] * 20
    listed = await client.get("/api/v1/contacts", headers=workspace.headers)
    assert listed.json()["meta"]["total"] == 20


@pytest.mark.usefixtures("app")  # empties the tables afterwards
async def test_second_writer_waits_for_the_open_write_transaction(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL writers do not share a lock")
    first_committed = asyncio.Event()

    async def second_writer() -> bool:
        async with database.transaction(platform=EVERY_WORKSPACE) as session:
            await WorkspaceService(session).create("Second")
            return first_committed.is_set()

    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await WorkspaceService(session).create("First")
        waiting = asyncio.create_task(second_writer())
        await asyncio.sleep(0.05)
        assert not waiting.done(), "the second writer ran inside the first one's transaction"
        first_committed.set()
    assert await asyncio.wait_for(waiting, timeout=5) is True

    async with database.session(platform=EVERY_WORKSPACE) as session:
        count = await session.scalar(select(func.count()).select_from(Tenant))
    assert count == 2


@pytest.mark.usefixtures("app")
async def test_readers_do_not_wait_for_a_writer(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await WorkspaceService(session).create("Writer")

        async def read() -> int:
            async with database.session(platform=EVERY_WORKSPACE) as reader:
                return int(await reader.scalar(select(func.count()).select_from(Tenant)) or 0)

        assert await asyncio.wait_for(read(), timeout=2) == 0


@pytest.mark.usefixtures("app")
async def test_if_match_holds_against_a_concurrent_update(database: Database) -> None:
    """Two requests read the same version; the second to write gets 412, not a lost update."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        tenant = await WorkspaceService(session).create("Acme")
        contact = await ContactService(Context.bound(session, tenant.id)).create(
            ContactCreate(email="race@example.com", name="Start")
        )
    etag = contact_etag(contact)
    first, second = (
        database.session(platform=EVERY_WORKSPACE),
        database.session(platform=EVERY_WORKSPACE),
    )
    try:
        await ContactService(Context.bound(second, tenant.id)).get(str(contact.id))
        await ContactService(Context.bound(first, tenant.id)).update(
            str(contact.id), ContactUpdate(name="First"), if_match=etag
        )
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await ContactService(Context.bound(second, tenant.id)).update(
                str(contact.id), ContactUpdate(name="Second"), if_match=etag
            )
    finally:
        await first.close()
        await second.rollback()
        await second.close()
    async with database.session(platform=EVERY_WORKSPACE) as session:
        stored = await session.get(Contact, contact.id)
    assert stored is not None
    assert stored.name == "First"


async def test_a_busy_database_is_503_with_retry_after(fresh_app: FastAPI) -> None:
    async def busy() -> None:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    fresh_app.add_api_route("/busy", busy)
    transport = httpx.ASGITransport(app=fresh_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/busy")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
