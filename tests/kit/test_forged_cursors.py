"""A cursor is opaque but not signed: one forged or damaged, on any list, is 400 naming `cursor`
(never a 500 from a value no column can be compared with), and changes nothing."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from rapport.kit.db import Database
from rapport.kit.pagination import Cursor, SortSpec
from tests.helpers import Workspace, assert_error, snapshot

API = "/api/v1"
LAST_ID = uuid.UUID("01900000-0000-7000-8000-000000000000")

# Values the API never puts in a cursor: beyond any integer column, a boolean, an object, a
# string no column can hold.
HOSTILE_VALUES: dict[str, Any] = {
    "2**63": 2**63,
    "true": True,
    "object": {"a": {"b": [1]}},
    "nul": "a\x00b",
}


def forged(doc: Any) -> str:
    """Encoded as Cursor.encode() encodes."""
    return base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")


def value_cursors(field: str) -> list[tuple[str, str]]:
    return [
        (name, Cursor(SortSpec(field, False), value, LAST_ID).encode())
        for name, value in HOSTILE_VALUES.items()
    ]


def id_cursors(field: str) -> list[tuple[str, str]]:
    """The same hostile values in place of the last row's id, in the document Cursor.encode()
    writes."""
    good = {"f": field, "d": False, "k": "v", "v": "x", "i": str(LAST_ID)}
    return [(f"id-{name}", forged({**good, "i": value})) for name, value in HOSTILE_VALUES.items()]


@dataclass(frozen=True)
class Listing:
    path: str
    query: dict[str, str]
    sort_fields: list[str]


SORT_NEEDS = {"/api/v1/leads": {"currency": "USD"}}
"""Query parameters a list's sort fields need (leads are sorted by value within a currency)."""


async def lists(client: httpx.AsyncClient, ws: Workspace, app: FastAPI) -> list[Listing]:
    """Every list taking a cursor, from the OpenAPI document: its path filled in with records
    made here, its required query parameters with their examples, its sort fields."""

    async def made(path: str, body: dict[str, Any]) -> str:
        response = await client.post(f"{API}{path}", json=body, headers=ws.headers)
        assert response.status_code == 201, response.text
        record_id: str = response.json()["data"]["id"]
        return record_id

    ids = {
        "ref": await made("/contacts", {"email": "ada@example.com"}),
        "company_ref": await made("/companies", {"name": "Acme"}),
        "webhook_id": await made(
            "/webhooks", {"url": "https://93.184.215.14/hook", "eventTypes": ["*"]}
        ),
        "lead_id": await made("/leads", {"title": "Acme"}),
        "list_id": await made("/lists", {"name": "Newsletter"}),
        "campaign_id": await made(
            "/campaigns",
            {
                "name": "Spring",
                "subject": "Hi",
                "htmlBody": "<p>Hi</p>",
                "fromAddress": "news@acme.example",
                "audience": {"filter": "email exists"},
            },
        ),
    }
    found = []
    for path, operations in app.openapi()["paths"].items():
        parameters = {p["name"]: p for p in operations.get("get", {}).get("parameters", [])}
        if "cursor" in parameters:
            required = {
                name: p["schema"]["examples"][0]
                for name, p in parameters.items()
                if p["in"] == "query" and p.get("required")
            }
            sort_fields = parameters["sortBy"]["schema"]["enum"]
            required.update(SORT_NEEDS.get(path, {}))
            found.append(Listing(path.format(**ids), required, sort_fields))
    assert len(found) > 15
    return found


def details(response: httpx.Response) -> list[str]:
    return [d["field"] for d in response.json()["error"].get("details", [])]


@pytest.mark.parametrize("placement", ["value", "id"])
async def test_forged_cursors_are_400_on_every_list(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    app: FastAPI,
    placement: str,
) -> None:
    walked = await lists(client, workspace, app)
    before = await snapshot(database)
    failures = []
    for listing in walked:
        for field in listing.sort_fields:
            forgeries = value_cursors(field) if placement == "value" else id_cursors(field)
            for name, cursor in forgeries:
                response = await client.get(
                    listing.path,
                    params={**listing.query, "cursor": cursor},
                    headers=workspace.headers,
                )
                if response.status_code != 400 or "cursor" not in details(response):
                    failures.append(f"{listing.path} {field} {name}: {response.status_code}")
                    continue
                assert_error(response, 400, "INVALID_REQUEST")
    assert failures == [], "\n".join(failures)
    assert await snapshot(database) == before


async def test_an_integer_cursor_value_within_range_still_walks(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """The event list sorts by a BIGINT: the largest value it holds is a cursor like any."""
    await client.post(f"{API}/tags", json={"key": "vip", "name": "VIP"}, headers=workspace.headers)
    cursor = Cursor(SortSpec("sequence", False), 2**63 - 1, LAST_ID).encode()
    response = await client.get(
        f"{API}/events", params={"cursor": cursor}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []
