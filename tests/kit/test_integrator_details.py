"""Small things an integrator relies on: a conflict names the record holding the value, a
cached copy is revalidated with If-None-Match, a refused webhook URL says how development
servers allow it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, assert_error, snapshot

pytestmark = pytest.mark.usefixtures("app")


async def _post(client: httpx.AsyncClient, ws: Workspace, path: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1{path}", json=body, headers=ws.headers)


@pytest.mark.parametrize(
    ("path", "first", "again", "code", "field"),
    [
        (
            "/contacts",
            {"email": "ada@example.com"},
            {"email": "ADA@example.com"},
            "CONTACT_EMAIL_EXISTS",
            "email",
        ),
        (
            "/contacts",
            {"externalId": "x-1", "name": "A"},
            {"externalId": "x-1", "name": "B"},
            "CONTACT_EXTERNAL_ID_EXISTS",
            "externalId",
        ),
        (
            "/companies",
            {"name": "Acme", "domain": "acme.com"},
            {"name": "B", "domain": "ACME.com"},
            "COMPANY_DOMAIN_EXISTS",
            "domain",
        ),
        (
            "/tags",
            {"key": "vip", "name": "VIP"},
            {"key": "vip", "name": "Other"},
            "TAG_KEY_EXISTS",
            "key",
        ),
    ],
)
async def test_a_conflict_names_the_record_holding_the_value(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    path: str,
    first: dict[str, Any],
    again: dict[str, Any],
    code: str,
    field: str,
) -> None:
    made = await _post(client, workspace, path, **first)
    assert made.status_code == 201, made.text
    before = await snapshot(database)
    refused = await _post(client, workspace, path, **again)
    error = assert_error(refused, 409, code)
    assert error["details"] == [
        {"field": field, "message": "Already taken", "existingId": made.json()["data"]["id"]}
    ]
    assert await snapshot(database) == before


@pytest.mark.parametrize("kind", ["contacts", "companies"])
async def test_if_none_match_answers_304_while_the_copy_is_current(
    client: httpx.AsyncClient, workspace: Workspace, kind: str
) -> None:
    body = {"email": "ada@example.com"} if kind == "contacts" else {"name": "Acme"}
    made = await _post(client, workspace, f"/{kind}", **body)
    url = f"/api/v1/{kind}/{made.json()['data']['id']}"
    first = await client.get(url, headers=workspace.headers)
    etag = first.headers["ETag"]
    cached = await client.get(url, headers={**workspace.headers, "If-None-Match": etag})
    assert (cached.status_code, cached.content, cached.headers["ETag"]) == (304, b"", etag)
    listed = await client.get(
        url, headers={**workspace.headers, "If-None-Match": f'"other", W/{etag}'}
    )
    assert listed.status_code == 304
    changed = await client.patch(url, json={"name": "Renamed"}, headers=workspace.headers)
    assert changed.status_code == 200
    stale = await client.get(url, headers={**workspace.headers, "If-None-Match": etag})
    assert stale.status_code == 200
    assert stale.headers["ETag"] != etag


async def test_a_private_webhook_url_mentions_the_development_setting(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for url in ("https://127.0.0.1/hook", "http://93.184.215.14/hook"):
        response = await _post(client, workspace, "/webhooks", url=url, eventTypes=["*"])
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert "RAPPORT_ALLOW_PRIVATE_WEBHOOKS" in error["details"][0]["message"]


async def test_json_without_its_content_type_is_told_so(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    for content_type in (None, "text/plain"):
        headers = dict(workspace.headers)
        if content_type:
            headers["Content-Type"] = content_type
        response = await client.post(
            "/api/v1/contacts", content=b'{"email": "ada@example.com"}', headers=headers
        )
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert "Content-Type: application/json" in error["message"]
        assert error["details"][0]["field"] == "Content-Type"
    assert await snapshot(database) == before


async def test_a_project_is_a_free_reference(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """There is no projects resource: projectId is stored as given and filters tasks."""
    project = "0193aa1e-0000-7000-8000-000000000001"
    made = await _post(client, workspace, "/tasks", title="Plan", projectId=project)
    assert made.status_code == 201, made.text
    listed = await client.get(
        "/api/v1/tasks", params={"projectId": project}, headers=workspace.headers
    )
    assert [t["id"] for t in listed.json()["data"]] == [made.json()["data"]["id"]]


async def test_the_workspace_is_named_only_at_the_top_of_a_body(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    """`tenantId` inside `settings` is an unknown field, not a selector nobody checks."""
    before = await snapshot(database)
    response = await client.patch(
        "/api/v1/workspace",
        json={"settings": {"tenantId": "e3e70682-c209-1cac-a29f-6fbed82c07cd"}},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "settings.tenantId"
    assert await snapshot(database) == before
