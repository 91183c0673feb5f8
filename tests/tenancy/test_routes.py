"""The workspace API: read it with crm:read, rename it and change its settings with crm:admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, custom_client, make_workspace, snapshot

WORKSPACE = "/api/v1/workspace"


async def patch(client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(WORKSPACE, json=body, headers=ws.headers)


async def read(client: httpx.AsyncClient, ws: Workspace) -> dict[str, Any]:
    response = await client.get(WORKSPACE, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_get_workspace(client: httpx.AsyncClient, workspace: Workspace) -> None:
    response = await client.get(WORKSPACE, headers=workspace.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"id", "name", "settings", "createdAt", "updatedAt"}
    assert data["id"] == str(workspace.id)
    assert data["name"] == "Acme"
    assert data["settings"] == {
        "rateLimits": {},
        "defaultPhoneRegion": None,
        "allowFreeProperties": True,  # as tests/helpers.py makes workspaces
        "queryCostLimit": None,
        "emailDoubleOptIn": False,
    }
    assert data["createdAt"].endswith("Z")


async def test_a_new_workspace_refuses_undefined_properties_until_allowed(
    client: httpx.AsyncClient, database: Database
) -> None:
    strict = await make_workspace(database, "Strict", settings={})
    assert (await read(client, strict))["settings"]["allowFreeProperties"] is False
    body = {"email": "ada@example.com", "properties": {"shoe_size": 38}}
    refused = await client.post("/api/v1/contacts", json=body, headers=strict.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "properties.shoe_size"

    allowed = await patch(client, strict, {"settings": {"allowFreeProperties": True}})
    assert allowed.json()["data"]["settings"]["allowFreeProperties"] is True
    created = await client.post("/api/v1/contacts", json=body, headers=strict.headers)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["properties"] == {"shoe_size": 38}


async def test_each_key_sees_its_own_workspace(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    assert (await read(client, workspace))["name"] == "Acme"
    assert (await read(client, other_workspace))["name"] == "Globex"


async def test_read_key_may_get_the_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    reader = await add_key(database, workspace, ["crm:read"])
    response = await client.get(WORKSPACE, headers=reader)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == str(workspace.id)


async def test_rename(client: httpx.AsyncClient, workspace: Workspace) -> None:
    response = await patch(client, workspace, {"name": "  Acme Europe  "})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "Acme Europe"
    assert (await read(client, workspace))["name"] == "Acme Europe"


async def test_blank_name_is_422_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await patch(client, workspace, {"name": "   "})

    assert assert_error(response, 422, "VALIDATION_FAILED")["details"][0]["field"] == "name"
    assert await snapshot(database) == before


async def test_update_settings(client: httpx.AsyncClient, workspace: Workspace) -> None:
    body = {"settings": {"rateLimits": {"read": "5000/minute"}, "defaultPhoneRegion": "de"}}
    response = await patch(client, workspace, body)
    assert response.status_code == 200, response.text
    expected = {
        "rateLimits": {"read": "5000/minute"},
        "defaultPhoneRegion": "DE",
        "allowFreeProperties": True,
        "queryCostLimit": None,
        "emailDoubleOptIn": False,
    }
    assert response.json()["data"]["settings"] == expected
    assert (await read(client, workspace))["settings"] == expected
    assert (await read(client, workspace))["name"] == "Acme"


async def test_settings_merge_and_null_clears(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    first = await patch(client, workspace, {"settings": {"rateLimits": {"write": "50/minute"}}})
    assert first.status_code == 200, first.text
    second = await patch(client, workspace, {"settings": {"defaultPhoneRegion": "GB"}})
    assert second.json()["data"]["settings"] == {
        "rateLimits": {"write": "50/minute"},
        "defaultPhoneRegion": "GB",
        "allowFreeProperties": True,
        "queryCostLimit": None,
        "emailDoubleOptIn": False,
    }
    third = await patch(client, workspace, {"settings": {"defaultPhoneRegion": None}})
    assert third.json()["data"]["settings"] == {
        "rateLimits": {"write": "50/minute"},
        "defaultPhoneRegion": None,
        "allowFreeProperties": True,
        "queryCostLimit": None,
        "emailDoubleOptIn": False,
    }


async def test_phone_region_is_used_for_contacts(
    database: Database, workspace: Workspace, tmp_path: Path
) -> None:
    async with custom_client(database, tmp_path, api_key_cache_seconds=0) as http:
        assert (await patch(http, workspace, {"settings": {"defaultPhoneRegion": "US"}})).is_success
        response = await http.post(
            "/api/v1/contacts", json={"phone": "(415) 555-2671"}, headers=workspace.headers
        )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["phone"] == "+14155552671"


async def test_settings_change_applies_to_the_next_request(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """Writes are synchronous: the process that changed the settings uses them at once, even for
    a key it has just seen (as it does for a revoked key)."""
    assert (await client.get(WORKSPACE, headers=workspace.headers)).status_code == 200
    assert (await patch(client, workspace, {"settings": {"defaultPhoneRegion": "US"}})).is_success
    response = await client.post(
        "/api/v1/contacts", json={"phone": "(415) 555-2671"}, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["phone"] == "+14155552671"


async def test_updating_the_workspace_needs_admin(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    for body in ({"name": "Hijacked"}, {"settings": {"rateLimits": {"read": "1000000/minute"}}}):
        response = await client.patch(WORKSPACE, json=body, headers=writer)
        error = assert_error(response, 403, "FORBIDDEN")
        assert "crm:admin" in error["message"]
    assert await snapshot(database) == before
    assert (await read(client, workspace))["name"] == "Acme"


async def test_update_naming_another_workspace_is_403(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    before = await snapshot(database)
    response = await patch(
        client, workspace, {"name": "Hijacked", "tenantId": str(other_workspace.id)}
    )
    assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"settings": {"rateLimits": {"everything": "10/minute"}}}, "settings.rateLimits"),
        ({"settings": {"rateLimits": {"read": "lots"}}}, "settings.rateLimits"),
        ({"settings": {"rateLimits": {"read": "10 per fortnight"}}}, "settings.rateLimits"),
        ({"settings": {"rateLimits": {"read": 10}}}, "settings.rateLimits.read"),
        ({"settings": {"defaultPhoneRegion": "XX"}}, "settings.defaultPhoneRegion"),
        ({"settings": {"colour": "red"}}, "settings.colour"),
        ({"colour": "red"}, "colour"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
    ],
    ids=[
        "unknown-category",
        "bad-spec",
        "bad-period",
        "spec-not-text",
        "unknown-region",
        "unknown-setting",
        "unknown-field",
        "empty-name",
        "long-name",
    ],
)
async def test_invalid_update_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    error = assert_error(await patch(client, workspace, body), 422, "VALIDATION_FAILED")
    assert [d["field"] for d in error["details"]] == [field]
    assert all(d["message"] for d in error["details"])
    assert await snapshot(database) == before


async def test_invalid_rate_limit_message_names_the_problem(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    unknown = await patch(client, workspace, {"settings": {"rateLimits": {"everything": "1/s"}}})
    assert "everything" in unknown.json()["error"]["details"][0]["message"]
    bad = await patch(client, workspace, {"settings": {"rateLimits": {"read": "lots"}}})
    assert "lots" in bad.json()["error"]["details"][0]["message"]


async def test_update_with_malformed_json_is_400(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.patch(
        WORKSPACE,
        content=b'{"name": ',
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before
