"""Every list answers `{data: [...], meta: {...}}`, paged or not (a record's tags, the property
definitions, the event types too), and the schema says so."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Workspace

pytestmark = pytest.mark.usefixtures("app")


def _schema(spec: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref:
        schema: dict[str, Any] = spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        return schema
    return ref


def test_every_list_in_the_schema_has_meta(app: FastAPI) -> None:
    spec = app.openapi()
    lists = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json")
                if not status.startswith("2") or content is None:
                    continue
                body = _schema(spec, content["schema"])
                data = body.get("properties", {}).get("data", {})
                if data.get("type") == "array":
                    lists += 1
                    assert "meta" in body.get("required", []), f"{method} {path}"
    assert lists > 15


async def test_unpaged_lists_carry_meta(client: httpx.AsyncClient, workspace: Workspace) -> None:
    contact = await client.post(
        "/api/v1/contacts", json={"email": "ada@example.com"}, headers=workspace.headers
    )
    tag = await client.post(
        "/api/v1/tags", json={"key": "vip", "name": "VIP"}, headers=workspace.headers
    )
    contact_id, tag_id = contact.json()["data"]["id"], tag.json()["data"]["id"]
    tagged = await client.post(
        f"/api/v1/contacts/{contact_id}/tags", json={"tagId": tag_id}, headers=workspace.headers
    )
    assert tagged.status_code == 201
    for path, expected in (
        (f"/api/v1/contacts/{contact_id}/tags", 1),
        ("/api/v1/webhooks/event-types", None),
        ("/api/v1/properties", None),
    ):
        response = await client.get(path, headers=workspace.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        count = len(body["data"])
        assert body["meta"] == {
            "total": count,
            "skip": 0,
            "take": count,
            "page": 1,
            "totalPages": 1,
            "hasMore": False,
            "nextCursor": None,
        }
        assert expected is None or count == expected
