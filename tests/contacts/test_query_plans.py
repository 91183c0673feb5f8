"""The statements on a contact's hot paths use the indexes made for them (SQLite's planner,
checked with EXPLAIN QUERY PLAN on the statement the code sends)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from rapport.contacts.repository import ContactRepository
from rapport.kit.db import Database
from rapport.models import Contact
from tests.helpers import EVERY_WORKSPACE, Workspace

pytestmark = pytest.mark.usefixtures("app")


async def test_the_uniqueness_check_uses_the_partial_unique_index(
    database: Database, workspace: Workspace
) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL plans each statement with its values")
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "contacts.email = ?" in statement:
            sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with database.session(workspace=workspace.id) as session:
            await ContactRepository(session).live_holder(Contact.email == "ada@example.com")
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = sent[0]
    async with database.session(platform=EVERY_WORKSPACE) as session:
        connection = await session.connection()
        plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)

    assert "uq_contacts_tenant_email" in str(plan.all())


async def test_creating_a_contact_deletes_no_property_values(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    """A new record has no indexed values yet: a DELETE would only cost (more as the workspace
    grows)."""
    sent: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        response = await client.post(
            "/api/v1/contacts",
            json={"name": "Ada", "properties": {"plan": "Growth", "seats": 12}},
            headers=workspace.headers,
        )
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)

    assert response.status_code == 201, response.text
    assert any(s.startswith("INSERT INTO property_values") for s in sent)
    assert not any(s.startswith("DELETE FROM property_values") for s in sent)


async def test_changing_a_property_deletes_its_old_values_by_the_primary_key(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    """Found by the key led by the workspace, not by walking the workspace's values through an
    index that matches `tenant_id` alone (what SQLite's planner takes without statistics)."""
    if database.dialect != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL plans each statement with its values")
    await client.post(
        "/api/v1/properties",
        json={"key": "seats", "label": "Seats", "type": "NUMBER", "entity": "CONTACT"},
        headers=workspace.headers,
    )
    created = await client.post(
        "/api/v1/contacts",
        json={"name": "Ada", "properties": {"seats": 3}},
        headers=workspace.headers,
    )
    assert created.status_code == 201, created.text
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("DELETE FROM property_values"):
            sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        changed = await client.patch(
            f"/api/v1/contacts/{created.json()['data']['id']}",
            json={"properties": {"seats": 4}},
            headers=workspace.headers,
        )
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    assert changed.status_code == 200, changed.text
    statement, parameters = sent[0]
    async with database.session(platform=EVERY_WORKSPACE) as session:
        connection = await session.connection()
        plan = str(
            (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
        )
    assert "sqlite_autoindex_property_values_1 (tenant_id=? AND record_id=?" in plan
