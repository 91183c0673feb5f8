"""Concurrent writes of one company without If-Match wait for each other instead of failing
on the version another request just wrote."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import Workspace

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"


async def test_company_writes_without_if_match_wait_for_each_other(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await client.post(
        f"{API}/companies", json={"name": "Acme"}, headers=workspace.headers
    )
    company = created.json()["data"]

    answers = await asyncio.gather(
        *(
            client.patch(
                f"{API}/companies/{company['id']}",
                json={"industry": f"I{i}"},
                headers=workspace.headers,
            )
            for i in range(8)
        )
    )

    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    events = await client.get(
        f"{API}/events", params={"type": "company.updated"}, headers=workspace.headers
    )
    assert len(events.json()["data"]) == 8
