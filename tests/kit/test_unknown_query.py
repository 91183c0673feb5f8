"""Unknown query parameters are refused with 400 naming them (a misspelt filter never answers
with everything), on every route; the filters integrators reach for exist."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from rapport.kit.db import Database
from tests.helpers import Workspace, assert_error, snapshot

pytestmark = pytest.mark.usefixtures("app")

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"


async def _contact(client: httpx.AsyncClient, ws: Workspace, **body: str) -> str:
    response = await client.post(CONTACTS, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        (CONTACTS, {"emial": "ada@example.com"}, ["emial"]),
        (CONTACTS, {"tags": "vip", "tagId": "x", "take": "5"}, ["tagId", "tags"]),
        (COMPANIES, {"domian": "acme.com"}, ["domian"]),
        ("/api/v1/tags", {"q": "vip"}, ["q"]),
        ("/api/v1/events", {"types": "contact.*"}, ["types"]),
    ],
)
async def test_an_unknown_query_parameter_is_400_naming_it(
    client: httpx.AsyncClient,
    workspace: Workspace,
    path: str,
    params: dict[str, str],
    named: list[str],
) -> None:
    response = await client.get(path, params=params, headers=workspace.headers)
    error = assert_error(response, 400, "INVALID_REQUEST")
    assert [d["field"] for d in error["details"]] == named
    assert all(name in error["message"] for name in named)


async def test_a_write_with_an_unknown_query_parameter_changes_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(
        CONTACTS,
        params={"upsert": "true"},
        json={"email": "ada@example.com"},
        headers=workspace.headers,
    )
    assert_error(response, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before


async def test_credentials_and_scopes_are_checked_before_the_query(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    assert_error(await client.get(CONTACTS, params={"bogus": "1"}), 401, "UNAUTHENTICATED")


async def test_the_workspace_selectors_are_known_everywhere(
    app: FastAPI, client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """`tenantId` and `entityId` are read outside the routes' signatures: never unknown."""
    params = {"tenantId": str(workspace.id), "entityId": str(workspace.id)}
    checked = 0
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, str(context.path)
        if not isinstance(route, APIRoute) or "GET" not in route.methods or "{" in path:
            continue
        if path.startswith("/api/v1/") and not path.endswith("/login"):
            response = await client.get(path, params=params, headers=workspace.headers)
            assert "Unknown query parameter" not in response.text, path
            checked += 1
    assert checked > 10


async def test_contacts_by_email_and_external_id(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await _contact(client, workspace, email="ada@lovelace.example", externalId="crm-1")
    await _contact(client, workspace, email="grace@hopper.example", externalId="crm-2")
    for params in ({"email": "ADA@Lovelace.example"}, {"externalId": "crm-1"}):
        response = await client.get(CONTACTS, params=params, headers=workspace.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert ([c["id"] for c in body["data"]], body["meta"]["total"]) == ([ada], 1)
    response = await client.get(CONTACTS, params={"email": "nobody"}, headers=workspace.headers)
    assert assert_error(response, 400, "INVALID_REQUEST")["details"][0]["field"] == "email"


async def test_companies_by_domain_written_any_way(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    made = await client.post(
        COMPANIES, json={"name": "Acme", "domain": "acme.com"}, headers=workspace.headers
    )
    other = await client.post(
        COMPANIES, json={"name": "Globex", "domain": "globex.com"}, headers=workspace.headers
    )
    assert (made.status_code, other.status_code) == (201, 201)
    for spelling in ("acme.com", "https://www.Acme.com/about", "ACME.COM"):
        response = await client.get(
            COMPANIES, params={"domain": spelling}, headers=workspace.headers
        )
        assert [c["id"] for c in response.json()["data"]] == [made.json()["data"]["id"]]
    for bad in ("", "not a domain"):
        response = await client.get(COMPANIES, params={"domain": bad}, headers=workspace.headers)
        assert assert_error(response, 400, "INVALID_REQUEST")["details"][0]["field"] == "domain"


@pytest.mark.parametrize(
    ("path", "first", "second"),
    [
        (CONTACTS, {"email": "ada@lovelace.example"}, {"email": "grace@hopper.example"}),
        (COMPANIES, {"name": "Acme"}, {"name": "Globex"}),
    ],
)
async def test_contacts_and_companies_by_tag_id_or_key(
    client: httpx.AsyncClient,
    workspace: Workspace,
    path: str,
    first: dict[str, str],
    second: dict[str, str],
) -> None:
    made = [
        (await client.post(path, json=body, headers=workspace.headers)).json()["data"]["id"]
        for body in (first, second)
    ]
    tag = await client.post(
        "/api/v1/tags", json={"key": "vip", "name": "VIP"}, headers=workspace.headers
    )
    tag_id = tag.json()["data"]["id"]
    tagged = await client.post(
        f"{path}/{made[0]}/tags", json={"tagId": tag_id}, headers=workspace.headers
    )
    assert tagged.status_code == 201
    for ref, expected in ((tag_id, made[:1]), ("VIP", made[:1]), ("nobody", [])):
        response = await client.get(path, params={"tag": ref}, headers=workspace.headers)
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["data"]] == expected
        assert response.json()["meta"]["total"] == len(expected)


async def test_logging_in_refuses_an_unknown_query_parameter(
    client: httpx.AsyncClient, database: Database
) -> None:
    before = await snapshot(database)
    response = await client.post(
        "/api/v1/auth/login",
        params={"remember": "1"},
        json={"email": "ada@example.com", "password": "long password 1"},
    )
    assert assert_error(response, 400, "INVALID_REQUEST")["details"][0]["field"] == "remember"
    assert await snapshot(database) == before
