"""Owners of contacts and companies: a user of the workspace, set on create, changed or cleared
by PATCH, and the `ownerUserId` list filter (an id, `me`, `unassigned`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, add_member, assert_error, key_of_user, snapshot

pytestmark = pytest.mark.usefixtures("app")

RESOURCES = pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/companies"])


async def create(
    client: httpx.AsyncClient, ws: Workspace, path: str, name: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(path, json={"name": name, **body}, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def names(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], owner: str
) -> list[str]:
    response = await client.get(path, params={"ownerUserId": owner}, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(row["name"] for row in response.json()["data"])


def refused_on_owner(response: httpx.Response, status: int, code: str) -> None:
    error = assert_error(response, status, code)
    assert {d.get("field") for d in error["details"]} == {"ownerUserId"}


@RESOURCES
async def test_owner_is_set_changed_and_cleared(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, path: str
) -> None:
    ann = await add_member(database, workspace, "ann@example.com")
    ben = await add_member(database, workspace, "ben@example.com")

    record = await create(client, workspace, path, "Owned", ownerUserId=str(ann))
    moved = await client.patch(
        f"{path}/{record['id']}", json={"ownerUserId": str(ben)}, headers=workspace.headers
    )
    cleared = await client.patch(
        f"{path}/{record['id']}", json={"ownerUserId": None}, headers=workspace.headers
    )
    read = await client.get(f"{path}/{record['id']}", headers=workspace.headers)

    assert record["ownerUserId"] == str(ann)
    assert moved.json()["data"]["ownerUserId"] == str(ben)
    assert cleared.json()["data"]["ownerUserId"] is None
    assert read.json()["data"]["ownerUserId"] is None


@RESOURCES
async def test_owner_from_another_workspace_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    path: str,
) -> None:
    stranger = await add_member(database, other_workspace, "stranger@example.com")
    record = await create(client, workspace, path, "Acme")
    before = await snapshot(database)

    created = await client.post(
        path, json={"name": "New", "ownerUserId": str(stranger)}, headers=workspace.headers
    )
    patched = await client.patch(
        f"{path}/{record['id']}", json={"ownerUserId": str(stranger)}, headers=workspace.headers
    )
    unknown = await client.post(
        path, json={"name": "New", "ownerUserId": str(uuid.uuid4())}, headers=workspace.headers
    )
    garbage = await client.post(
        path, json={"name": "New", "ownerUserId": "not-a-uuid"}, headers=workspace.headers
    )

    for response in (created, patched, unknown, garbage):
        refused_on_owner(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


@RESOURCES
async def test_filter_by_owner_id_and_unassigned(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, path: str
) -> None:
    ann = await add_member(database, workspace, "ann@example.com")
    ben = await add_member(database, workspace, "ben@example.com")
    await create(client, workspace, path, "Ann's", ownerUserId=str(ann))
    await create(client, workspace, path, "Ben's", ownerUserId=str(ben))
    await create(client, workspace, path, "Nobody's")
    headers = workspace.headers

    assert await names(client, path, headers, str(ann)) == ["Ann's"]
    assert await names(client, path, headers, str(ben)) == ["Ben's"]
    assert await names(client, path, headers, "unassigned") == ["Nobody's"]
    assert await names(client, path, headers, str(uuid.uuid4())) == []


@RESOURCES
async def test_owner_me_is_the_user_who_created_the_key(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, path: str
) -> None:
    ann = await add_member(database, workspace, "ann@example.com")
    ben = await add_member(database, workspace, "ben@example.com")
    await create(client, workspace, path, "Ann's", ownerUserId=str(ann))
    await create(client, workspace, path, "Ben's", ownerUserId=str(ben))

    mine = await names(client, path, await key_of_user(database, workspace, ann), "me")

    assert mine == ["Ann's"]


@RESOURCES
async def test_owner_me_needs_a_user_behind_the_key(
    client: httpx.AsyncClient, workspace: Workspace, path: str
) -> None:
    response = await client.get(path, params={"ownerUserId": "me"}, headers=workspace.headers)

    refused_on_owner(response, 400, "INVALID_REQUEST")


@RESOURCES
@pytest.mark.parametrize("value", ["garbage", "12345", "x" * 41])
async def test_owner_filter_garbage_is_400(
    client: httpx.AsyncClient, workspace: Workspace, path: str, value: str
) -> None:
    response = await client.get(path, params={"ownerUserId": value}, headers=workspace.headers)

    refused_on_owner(response, 400, "INVALID_REQUEST")


async def test_merge_gives_the_winner_the_losers_owner_when_it_has_none(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ann = await add_member(database, workspace, "ann@example.com")
    winner = await create(client, workspace, "/api/v1/contacts", "Winner")
    loser = await create(client, workspace, "/api/v1/contacts", "Loser", ownerUserId=str(ann))

    merged = await client.post(
        f"/api/v1/contacts/{winner['id']}/merge",
        json={"loserId": loser["id"]},
        headers=workspace.headers,
    )

    assert merged.status_code == 200, merged.text
    assert merged.json()["data"]["ownerUserId"] == str(ann)
