"""Enumerated values are answered in their published spelling (contacts UPPERCASE, companies
and tasks lowercase) and accepted in any case, in bodies and in query parameters."""

from __future__ import annotations

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, assert_error, snapshot

pytestmark = pytest.mark.usefixtures("app")


async def test_any_case_is_answered_in_its_own_spelling(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    headers = workspace.headers
    contact = await client.post(
        "/api/v1/contacts",
        json={"email": "ada@example.com", "status": "archived", "lifecycleStage": "Lead"},
        headers=headers,
    )
    assert contact.status_code == 201, contact.text
    assert (contact.json()["data"]["status"], contact.json()["data"]["lifecycleStage"]) == (
        "ARCHIVED",
        "LEAD",
    )
    company = await client.post(
        "/api/v1/companies", json={"name": "Acme", "role": "CUSTOMER"}, headers=headers
    )
    assert company.json()["data"]["role"] == "customer"
    task = await client.post(
        "/api/v1/tasks", json={"title": "Call", "status": "In_Progress"}, headers=headers
    )
    assert task.json()["data"]["status"] == "in_progress"
    activity = await client.post(
        f"/api/v1/contacts/{contact.json()['data']['id']}/activities",
        json={"type": "call", "subject": "hi"},
        headers=headers,
    )
    assert activity.json()["data"]["type"] == "CALL"
    listed = await client.get("/api/v1/contacts", params={"status": "Archived"}, headers=headers)
    assert [c["email"] for c in listed.json()["data"]] == ["ada@example.com"]
    by_role = await client.get("/api/v1/companies", params={"role": "Customer"}, headers=headers)
    assert [c["name"] for c in by_role.json()["data"]] == ["Acme"]


async def test_a_value_of_no_case_is_still_refused(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(
        "/api/v1/contacts",
        json={"email": "ada@example.com", "status": "gone"},
        headers=workspace.headers,
    )
    assert assert_error(response, 422, "VALIDATION_FAILED")["details"][0]["field"] == "status"
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    "params", [{"sortBy": "email", "sortOrder": "DESC"}, {"sort": "email:Desc"}]
)
async def test_a_sort_order_is_accepted_in_any_case(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, str]
) -> None:
    for email in ("a@example.com", "b@example.com"):
        await client.post("/api/v1/contacts", json={"email": email}, headers=workspace.headers)
    listed = await client.get("/api/v1/contacts", params=params, headers=workspace.headers)
    assert [c["email"] for c in listed.json()["data"]] == ["b@example.com", "a@example.com"]
