"""Concurrent changes of pipelines and leads: every lead's status stays its stage's kind,
every pipeline keeps an open, a won and a lost stage in a dense order, and writes without
If-Match wait for each other instead of failing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace
from tests.sales.conftest import API, body_of, create_lead, stages

pytestmark = pytest.mark.usefixtures("app")


async def pipeline(
    client: httpx.AsyncClient, ws: Workspace, specs: list[dict[str, Any]]
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/pipelines", json={"name": "Race", "stages": specs}, headers=ws.headers
    )
    return body_of(response, 201)  # type: ignore[no-any-return]


async def test_a_stage_s_kind_and_a_move_into_it_do_not_cross(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await pipeline(
        client,
        workspace,
        [
            {"name": "A"},
            {"name": "B"},
            {"name": "Won", "kind": "won"},
            {"name": "Lost", "kind": "lost"},
        ],
    )
    first, second = created["stages"][0]["id"], created["stages"][1]["id"]
    lead = await create_lead(client, workspace, stageId=first)

    kind, move = await asyncio.gather(
        client.patch(
            f"{API}/pipeline-stages/{second}", json={"kind": "won"}, headers=workspace.headers
        ),
        client.patch(
            f"{API}/leads/{lead['id']}/stage", json={"stageId": second}, headers=workspace.headers
        ),
    )

    assert sorted([kind.status_code, move.status_code]) in ([200, 200], [200, 409]), (
        kind.text,
        move.text,
    )
    now = body_of(await client.get(f"{API}/leads/{lead['id']}", headers=workspace.headers))
    assert now["status"] == now["stage"]["kind"]
    assert (now["closedAt"] is None) == (now["status"] == "open")


async def test_parallel_deletes_never_take_the_last_won_stage(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await pipeline(
        client,
        workspace,
        [
            {"name": "O"},
            {"name": "W1", "kind": "won"},
            {"name": "W2", "kind": "won"},
            {"name": "L", "kind": "lost"},
        ],
    )
    won = [s["id"] for s in created["stages"] if s["kind"] == "won"]

    answers = await asyncio.gather(
        *(client.delete(f"{API}/pipeline-stages/{i}", headers=workspace.headers) for i in won)
    )

    assert sorted(a.status_code for a in answers) == [204, 409]
    left = await stages(client, workspace, created["id"])
    assert sorted(s["kind"] for s in left) == ["lost", "open", "won"]
    assert [s["sortOrder"] for s in left] == [0, 1, 2]


async def test_stages_added_at_once_keep_a_dense_order(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    answers = await asyncio.gather(
        *(
            client.post(
                f"{API}/pipeline-stages",
                json={"name": f"S{i}", "sortOrder": 0},
                headers=workspace.headers,
            )
            for i in range(5)
        )
    )

    assert [a.status_code for a in answers] == [201] * 5
    assert [s["sortOrder"] for s in await stages(client, workspace)] == list(range(11))


async def test_a_stage_deleted_while_leads_move_into_it_leaves_no_lead_behind(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    listed = await stages(client, workspace)
    proposal, new = listed[2]["id"], listed[0]["id"]
    leads = [await create_lead(client, workspace) for _ in range(4)]

    answers = await asyncio.gather(
        client.delete(
            f"{API}/pipeline-stages/{proposal}",
            params={"moveLeadsTo": new},
            headers=workspace.headers,
        ),
        *(
            client.patch(
                f"{API}/leads/{lead['id']}/stage",
                json={"stageId": proposal},
                headers=workspace.headers,
            )
            for lead in leads
        ),
    )

    assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
    assert answers[0].status_code == 204
    left = {s["id"] for s in await stages(client, workspace)}
    for lead in leads:
        now = body_of(await client.get(f"{API}/leads/{lead['id']}", headers=workspace.headers))
        assert now["stageId"] in left


async def test_writes_without_if_match_wait_for_each_other(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    listed = await stages(client, workspace)

    answers = await asyncio.gather(
        *(
            client.patch(
                f"{API}/leads/{lead['id']}", json={"title": f"T{i}"}, headers=workspace.headers
            )
            for i in range(6)
        ),
        *(
            client.patch(
                f"{API}/leads/{lead['id']}/stage",
                json={"stageId": s["id"]},
                headers=workspace.headers,
            )
            for s in listed[:4]
        ),
    )

    assert [a.status_code for a in answers] == [200] * 10, [
        a.text for a in answers if a.status_code != 200
    ]
    history = body_of(
        await client.get(f"{API}/leads/{lead['id']}/stage-history", headers=workspace.headers)
    )
    now = body_of(await client.get(f"{API}/leads/{lead['id']}", headers=workspace.headers))
    assert history[-1]["toStageId"] == now["stageId"]
