"""What the list tests do through the API, and how they let the worker catch up."""

from __future__ import annotations

from typing import Any

import httpx

from rapport.worker.loop import Worker
from tests.helpers import Workspace

API = "/api/v1"


async def settle(worker: Worker) -> None:
    """Hand the events to their consumers and run the jobs they queue, until all is quiet."""
    for _ in range(20):
        handed = await worker.follow_streams(force=True)
        ran = await worker.run_once()
        if handed == 0 and ran == 0:
            return
    raise AssertionError("events kept coming")


async def call(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str, body: Any = None
) -> Any:
    response = await client.request(method, f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code < 300, response.text
    return response.json()["data"] if response.content else None


async def contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> str:
    return str((await call(client, ws, "POST", "/contacts", body))["id"])
