"""Pipelines and stages: the default pipeline every workspace gets, stage CRUD, reorder and
delete rules, each refusal leaving everything as it was."""

from __future__ import annotations

import uuid

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, events_of_type, snapshot
from tests.sales.conftest import API, body_of, create_lead, stage_by_key, stages

pytestmark = pytest.mark.usefixtures("app")

BUILT_IN = [
    ("New", "open", 10, "new"),
    ("Qualified", "open", 20, "qualified"),
    ("Proposal", "open", 50, "proposal"),
    ("Negotiation", "open", 75, "negotiation"),
    ("Won", "won", 100, "won"),
    ("Lost", "lost", 0, "lost"),
]


async def test_a_new_workspace_has_the_default_pipeline_with_the_built_in_stages(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    listed = await stages(client, workspace)

    assert [
        (s["name"], s["kind"], s["defaultProbabilityPct"], s["systemKey"]) for s in listed
    ] == BUILT_IN
    assert [s["sortOrder"] for s in listed] == list(range(6))
    assert all(s["leadCount"] == 0 and s["colorKey"] for s in listed)
    pipelines = body_of(await client.get(f"{API}/pipelines", headers=workspace.headers))
    assert len(pipelines) == 1
    assert pipelines[0]["isDefault"] is True
    assert {s["pipelineId"] for s in listed} == {pipelines[0]["id"]}


async def test_lead_counts_per_stage(client: httpx.AsyncClient, workspace: Workspace) -> None:
    qualified = await stage_by_key(client, workspace, "qualified")
    await create_lead(client, workspace, stageId=qualified["id"])
    await create_lead(client, workspace, stageId=qualified["id"])
    await create_lead(client, workspace)

    counts = {s["systemKey"]: s["leadCount"] for s in await stages(client, workspace)}

    assert counts == {
        "new": 1,
        "qualified": 2,
        "proposal": 0,
        "negotiation": 0,
        "won": 0,
        "lost": 0,
    }
    one = body_of(
        await client.get(f"{API}/pipeline-stages/{qualified['id']}", headers=workspace.headers)
    )
    assert one["leadCount"] == 2


async def test_a_stage_is_added_last_or_at_a_position(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    last = await client.post(
        f"{API}/pipeline-stages", json={"name": "On hold"}, headers=workspace.headers
    )
    second = await client.post(
        f"{API}/pipeline-stages",
        json={"name": "Demo booked", "sortOrder": 1, "defaultProbabilityPct": 30},
        headers=workspace.headers,
    )

    assert body_of(last, 201)["sortOrder"] == 6
    created = body_of(second, 201)
    assert created["defaultProbabilityPct"] == 30
    assert created["systemKey"] is None
    assert second.headers["Location"] == f"/api/v1/pipeline-stages/{created['id']}"
    names = [s["name"] for s in await stages(client, workspace)]
    assert names == [
        "New",
        "Demo booked",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
        "On hold",
    ]
    assert [s["sortOrder"] for s in await stages(client, workspace)] == list(range(8))
    created_events = await events_of_type(client, workspace, "pipeline_stage.created")
    assert [e["data"]["record"]["name"] for e in created_events] == ["Demo booked", "On hold"]


async def test_a_won_stage_defaults_to_full_probability(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    won = body_of(
        await client.post(
            f"{API}/pipeline-stages",
            json={"name": "Signed", "kind": "won"},
            headers=workspace.headers,
        ),
        201,
    )
    assert won["defaultProbabilityPct"] == 100


async def test_stage_names_are_unique_in_their_pipeline(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(
        f"{API}/pipeline-stages", json={"name": "Qualified"}, headers=workspace.headers
    )
    assert_error(response, 409, "STAGE_NAME_EXISTS")
    assert await snapshot(database) == before

    other = body_of(
        await client.post(f"{API}/pipelines", json={"name": "Partners"}, headers=workspace.headers),
        201,
    )
    again = await client.post(
        f"{API}/pipeline-stages",
        json={"name": "Scoping", "pipelineId": other["id"]},
        headers=workspace.headers,
    )
    assert again.status_code == 201, again.text


async def test_reorder_sets_the_order_given(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ids = [s["id"] for s in await stages(client, workspace)]
    wanted = [ids[1], ids[0], *ids[2:]]

    response = await client.post(
        f"{API}/pipeline-stages/reorder", json={"stageIds": wanted}, headers=workspace.headers
    )

    assert [s["id"] for s in body_of(response)] == wanted
    assert [s["id"] for s in await stages(client, workspace)] == wanted
    [event] = await events_of_type(client, workspace, "pipeline.stages_reordered")
    assert event["data"]["after"] == wanted


@pytest.mark.parametrize("problem", ["missing", "repeated", "foreign", "unknown"])
async def test_a_reorder_that_does_not_list_exactly_the_stages_changes_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, problem: str
) -> None:
    ids = [s["id"] for s in await stages(client, workspace)]
    other = body_of(
        await client.post(f"{API}/pipelines", json={"name": "Partners"}, headers=workspace.headers),
        201,
    )
    stage_ids = {
        "missing": ids[:-1],
        "repeated": [*ids, ids[0]],
        "foreign": [*ids[:-1], other["stages"][0]["id"]],
        "unknown": [*ids, str(uuid.uuid4())],
    }[problem]
    before = await snapshot(database)

    response = await client.post(
        f"{API}/pipeline-stages/reorder", json={"stageIds": stage_ids}, headers=workspace.headers
    )

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert error["details"][0]["field"] == "stageIds"
    assert await snapshot(database) == before


async def test_deleting_a_stage_with_leads_needs_somewhere_to_move_them(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    proposal = await stage_by_key(client, workspace, "proposal")
    qualified = await stage_by_key(client, workspace, "qualified")
    lead = await create_lead(client, workspace, stageId=proposal["id"])
    before = await snapshot(database)

    refused = await client.delete(
        f"{API}/pipeline-stages/{proposal['id']}", headers=workspace.headers
    )
    assert_error(refused, 409, "STAGE_HAS_LEADS")
    assert await snapshot(database) == before

    response = await client.request(
        "DELETE",
        f"{API}/pipeline-stages/{proposal['id']}",
        json={"moveLeadsTo": qualified["id"]},
        headers=workspace.headers,
    )

    assert response.status_code == 204, response.text
    moved = body_of(await client.get(f"{API}/leads/{lead['id']}", headers=workspace.headers))
    assert moved["stageId"] == qualified["id"]
    names = [(s["name"], s["sortOrder"]) for s in await stages(client, workspace)]
    assert names == [("New", 0), ("Qualified", 1), ("Negotiation", 2), ("Won", 3), ("Lost", 4)]
    [change] = await events_of_type(client, workspace, "lead.stage_changed")
    assert change["data"]["fromStage"]["name"] == "Proposal"
    assert change["data"]["toStage"]["id"] == qualified["id"]


async def test_move_leads_to_must_be_another_stage_of_the_same_pipeline(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    proposal = await stage_by_key(client, workspace, "proposal")
    await create_lead(client, workspace, stageId=proposal["id"])
    other = body_of(
        await client.post(f"{API}/pipelines", json={"name": "Partners"}, headers=workspace.headers),
        201,
    )
    before = await snapshot(database)
    for target in (other["stages"][0]["id"], proposal["id"], str(uuid.uuid4())):
        response = await client.delete(
            f"{API}/pipeline-stages/{proposal['id']}",
            params={"moveLeadsTo": target},
            headers=workspace.headers,
        )
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"][0]["field"] == "moveLeadsTo"
    assert await snapshot(database) == before


@pytest.mark.parametrize("key", ["won", "lost"])
async def test_the_last_won_and_the_last_lost_stage_cannot_be_deleted(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, key: str
) -> None:
    stage = await stage_by_key(client, workspace, key)
    before = await snapshot(database)

    response = await client.delete(
        f"{API}/pipeline-stages/{stage['id']}", headers=workspace.headers
    )

    assert_error(response, 409, f"LAST_{key.upper()}_STAGE")
    assert await snapshot(database) == before


async def test_a_stage_with_leads_keeps_its_kind(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    proposal = await stage_by_key(client, workspace, "proposal")
    await create_lead(client, workspace, stageId=proposal["id"])
    before = await snapshot(database)

    response = await client.patch(
        f"{API}/pipeline-stages/{proposal['id']}", json={"kind": "won"}, headers=workspace.headers
    )

    assert_error(response, 409, "STAGE_HAS_LEADS")
    assert await snapshot(database) == before


async def test_renaming_a_stage_and_its_probability(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    proposal = await stage_by_key(client, workspace, "proposal")
    lead = await create_lead(
        client, workspace, stageId=proposal["id"], value="1000", currency="USD"
    )
    assert lead["probability"] == 50
    assert lead["weightedValue"] == "500.00"

    response = await client.patch(
        f"{API}/pipeline-stages/{proposal['id']}",
        json={"name": "Proposal sent", "defaultProbabilityPct": 60, "colorKey": None},
        headers=workspace.headers,
    )

    updated = body_of(response)
    assert (updated["name"], updated["defaultProbabilityPct"], updated["colorKey"]) == (
        "Proposal sent",
        60,
        None,
    )
    assert updated["systemKey"] == "proposal"
    again = body_of(await client.get(f"{API}/leads/{lead['id']}", headers=workspace.headers))
    assert again["probability"] == 60
    assert again["weightedValue"] == "600.00"
    [event] = await events_of_type(client, workspace, "pipeline_stage.updated")
    assert {"name", "defaultProbabilityPct", "colorKey"} <= set(event["data"]["changes"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "defaultProbabilityPct": 101}, "defaultProbabilityPct"),
        ({"name": "X", "defaultProbabilityPct": -1}, "defaultProbabilityPct"),
        ({"name": "X", "kind": "maybe"}, "kind"),
        ({"name": "X", "pipelineId": str(uuid.uuid4())}, "pipelineId"),
        ({"name": "X", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_stage_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, body: dict, field: str
) -> None:
    before = await snapshot(database)
    response = await client.post(f"{API}/pipeline-stages", json=body, headers=workspace.headers)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in {d["field"] for d in error["details"]}
    assert await snapshot(database) == before


async def test_a_pipeline_with_its_own_stages(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        f"{API}/pipelines",
        json={
            "name": "Partnerships",
            "stages": [
                {"name": "Intro", "defaultProbabilityPct": 10},
                {"name": "Signed", "kind": "won"},
                {"name": "Dropped", "kind": "lost"},
            ],
        },
        headers=workspace.headers,
    )

    created = body_of(response, 201)
    assert [
        (s["name"], s["kind"], s["defaultProbabilityPct"], s["systemKey"])
        for s in created["stages"]
    ] == [
        ("Intro", "open", 10, None),
        ("Signed", "won", 100, None),
        ("Dropped", "lost", 0, None),
    ]
    assert created["isDefault"] is False
    listed = await stages(client, workspace, created["id"])
    assert [s["name"] for s in listed] == ["Intro", "Signed", "Dropped"]


@pytest.mark.parametrize(
    "stage_list",
    [
        [{"name": "A"}, {"name": "B", "kind": "won"}],
        [{"name": "A", "kind": "won"}, {"name": "B", "kind": "lost"}],
        [{"name": "A"}, {"name": "a", "kind": "won"}, {"name": "C", "kind": "lost"}],
    ],
)
async def test_a_pipeline_needs_an_open_a_won_and_a_lost_stage_with_distinct_names(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, stage_list: list
) -> None:
    before = await snapshot(database)
    response = await client.post(
        f"{API}/pipelines", json={"name": "Broken", "stages": stage_list}, headers=workspace.headers
    )
    assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_the_default_moves_but_never_disappears(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    first = body_of(await client.get(f"{API}/pipelines", headers=workspace.headers))[0]
    second = body_of(
        await client.post(
            f"{API}/pipelines",
            json={"name": "Renewals", "isDefault": True},
            headers=workspace.headers,
        ),
        201,
    )
    listed = {
        p["id"]: p["isDefault"]
        for p in body_of(await client.get(f"{API}/pipelines", headers=workspace.headers))
    }
    assert listed == {first["id"]: False, second["id"]: True}
    lead = await create_lead(client, workspace)
    assert lead["pipelineId"] == second["id"]
    assert lead["stage"]["name"] == "New"

    before = await snapshot(database)
    unset = await client.patch(
        f"{API}/pipelines/{second['id']}", json={"isDefault": False}, headers=workspace.headers
    )
    assert_error(unset, 422, "VALIDATION_FAILED")
    delete_default = await client.delete(
        f"{API}/pipelines/{second['id']}", headers=workspace.headers
    )
    assert_error(delete_default, 409, "DEFAULT_PIPELINE")
    assert await snapshot(database) == before

    back = await client.patch(
        f"{API}/pipelines/{first['id']}", json={"isDefault": True}, headers=workspace.headers
    )
    assert body_of(back)["isDefault"] is True
    with_leads = await client.delete(f"{API}/pipelines/{second['id']}", headers=workspace.headers)
    assert_error(with_leads, 409, "PIPELINE_HAS_LEADS")
    await client.delete(f"{API}/leads/{lead['id']}", headers=workspace.headers)
    gone = await client.delete(f"{API}/pipelines/{second['id']}", headers=workspace.headers)
    assert gone.status_code == 204, gone.text
    missing = await client.get(f"{API}/pipelines/{second['id']}", headers=workspace.headers)
    assert_error(missing, 404, "NOT_FOUND")


async def test_configuring_pipelines_needs_crm_admin(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    qualified = await stage_by_key(client, workspace, "qualified")
    before = await snapshot(database)
    for method, path, body in (
        ("POST", "/pipelines", {"name": "X"}),
        ("POST", "/pipeline-stages", {"name": "X"}),
        ("PATCH", f"/pipeline-stages/{qualified['id']}", {"name": "X"}),
        ("POST", "/pipeline-stages/reorder", {"stageIds": [qualified["id"]]}),
        ("DELETE", f"/pipeline-stages/{qualified['id']}", None),
    ):
        response = await client.request(method, f"{API}{path}", json=body, headers=writer)
        assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before
    assert (await client.get(f"{API}/pipeline-stages", headers=writer)).status_code == 200


async def test_another_workspace_sees_none_of_it(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    qualified = await stage_by_key(client, workspace, "qualified")
    mine = await stages(client, other_workspace)
    assert qualified["id"] not in {s["id"] for s in mine}
    before = await snapshot(database)
    for method, path, body in (
        ("GET", f"/pipeline-stages/{qualified['id']}", None),
        ("PATCH", f"/pipeline-stages/{qualified['id']}", {"name": "Hijacked"}),
        ("DELETE", f"/pipeline-stages/{qualified['id']}", None),
        ("GET", f"/pipelines/{qualified['pipelineId']}", None),
    ):
        response = await client.request(
            method, f"{API}{path}", json=body, headers=other_workspace.headers
        )
        assert_error(response, 404, "NOT_FOUND")
    reorder = await client.post(
        f"{API}/pipeline-stages/reorder",
        json={"stageIds": [qualified["id"]]},
        headers=other_workspace.headers,
    )
    assert_error(reorder, 400, "INVALID_REQUEST")
    lead = await client.post(
        f"{API}/leads",
        json={"title": "X", "stageId": qualified["id"]},
        headers=other_workspace.headers,
    )
    assert_error(lead, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_stage_names_differing_only_in_case_are_the_same_name(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    proposal = await stage_by_key(client, workspace, "proposal")
    before = await snapshot(database)
    created = await client.post(
        f"{API}/pipeline-stages", json={"name": "qualified"}, headers=workspace.headers
    )
    renamed = await client.patch(
        f"{API}/pipeline-stages/{proposal['id']}", json={"name": "NEW"}, headers=workspace.headers
    )
    assert_error(created, 409, "STAGE_NAME_EXISTS")
    assert_error(renamed, 409, "STAGE_NAME_EXISTS")
    assert await snapshot(database) == before


async def test_move_leads_to_named_twice_must_name_one_stage(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    proposal = await stage_by_key(client, workspace, "proposal")
    new = await stage_by_key(client, workspace, "new")
    qualified = await stage_by_key(client, workspace, "qualified")
    await create_lead(client, workspace, stageId=proposal["id"])
    before = await snapshot(database)

    response = await client.request(
        "DELETE",
        f"{API}/pipeline-stages/{proposal['id']}",
        params={"moveLeadsTo": new["id"]},
        json={"moveLeadsTo": qualified["id"]},
        headers=workspace.headers,
    )

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert error["details"][0]["field"] == "moveLeadsTo"
    assert await snapshot(database) == before
