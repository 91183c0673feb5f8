"""Helpers shared by the sales tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import Workspace

API = "/api/v1"


def body_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


async def stages(
    client: httpx.AsyncClient, ws: Workspace, pipeline_id: str | None = None
) -> list[dict[str, Any]]:
    params = {"pipelineId": pipeline_id} if pipeline_id else {}
    return body_of(await client.get(f"{API}/pipeline-stages", params=params, headers=ws.headers))  # type: ignore[no-any-return]


async def stage_by_key(client: httpx.AsyncClient, ws: Workspace, key: str) -> dict[str, Any]:
    return next(s for s in await stages(client, ws) if s["systemKey"] == key)


async def create_lead(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Acme: 40 seats")
    return body_of(await client.post(f"{API}/leads", json=body, headers=ws.headers), 201)  # type: ignore[no-any-return]
