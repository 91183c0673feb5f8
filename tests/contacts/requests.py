"""Requests and shapes shared by the contact tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.helpers import Workspace

API = "/api/v1/contacts"

RECORD_FIELDS = {
    "id",
    "email",
    "name",
    "givenName",
    "familyName",
    "phone",
    "externalId",
    "status",
    "lifecycleStage",
    "ownerUserId",
    "properties",
    "isIdentified",
    "lastActivityAt",
    "mergedIntoId",
    "createdAt",
    "updatedAt",
}
# What GET /contacts/{ref} adds to the record; writes and lists answer the record alone.
EMBEDDED_FIELDS = {"companies", "tags", "activityCount"}


def as_read(record: dict[str, Any]) -> dict[str, Any]:
    """The body GET answers for a contact with no companies, tags or activities: the record
    a write answered, plus the three embedded parts, empty."""
    assert set(record) == RECORD_FIELDS
    return {**record, "companies": [], "tags": [], "activityCount": 0}


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def new_contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def log(
    client: httpx.AsyncClient, ws: Workspace, contact_id: str, **body: Any
) -> dict[str, Any]:
    body.setdefault("type", "CALL")
    response = await client.post(f"{API}/{contact_id}/activities", json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def note(
    client: httpx.AsyncClient, ws: Workspace, contact_id: str, content: str
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/{contact_id}/notes", json={"content": content}, headers=ws.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def tag(client: httpx.AsyncClient, ws: Workspace, contact_id: str, tag_id: str) -> None:
    response = await client.post(
        f"{API}/{contact_id}/tags", json={"tagId": tag_id}, headers=ws.headers
    )
    assert response.status_code == 201, response.text
