"""The dashboard's statements read the indexes made for them (SQLite's planner, checked with
EXPLAIN QUERY PLAN on the statements GET /dashboard sends): the open pipeline and the time in
stage from covering indexes, the caller's activities from two ranges of the actor index."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from rapport.auth.service import ApiKeyService
from rapport.kit.context import Context
from rapport.kit.db import Database
from tests.helpers import EVERY_WORKSPACE, Workspace, add_member

pytestmark = pytest.mark.usefixtures("app")


async def test_the_dashboard_reads_its_indexes(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL plans each statement with its values")
    user = await add_member(database, workspace, "ann@example.com")
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        _key, secret = await ApiKeyService(
            Context.bound(session, workspace.id), creator_user_id=user
        ).create("mine", ["crm:read"])
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        response = await client.get(
            "/api/v1/dashboard", headers={"Authorization": f"Bearer {secret}"}
        )
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    assert response.status_code == 200, response.text
    plans = {}
    async with database.session(platform=EVERY_WORKSPACE) as session:
        connection = await session.connection()
        for statement, parameters in sent:
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans[statement] = str(plan.all())

    def plan_of(start: str) -> str:
        (found,) = [plan for statement, plan in plans.items() if statement.startswith(start)]
        return found

    open_leads = plan_of("SELECT leads.stage_id, leads.currency")
    exits = plan_of("SELECT lead_stage_changes.from_stage_id")
    activities = plan_of("SELECT anon_1.type")
    assert "COVERING INDEX ix_leads_status_stage_amounts" in open_leads
    assert "COVERING INDEX ix_lead_stage_changes_changed" in exits
    assert activities.count("COVERING INDEX ix_activities_actor") == 2
