"""Lists: static membership by hand, dynamic membership kept current from change events."""

from __future__ import annotations

import httpx

from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import Workspace, add_key, assert_error, events_of_type, snapshot
from tests.lists.calls import API, call, contact, settle


async def member_ids(client: httpx.AsyncClient, ws: Workspace, list_id: str) -> set[str]:
    response = await client.get(
        f"{API}/lists/{list_id}/members", params={"limit": 100}, headers=ws.headers
    )
    assert response.status_code == 200, response.text
    return {row["entityId"] for row in response.json()["data"]}


async def test_a_static_list_changes_by_hand(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    bob = await contact(client, workspace, email="bob@example.com")
    made = await call(client, workspace, "POST", "/lists", {"name": "Newsletter"})
    assert (made["isDynamic"], made["memberCount"], made["entityType"]) == (False, 0, "CONTACT")
    added = await call(
        client, workspace, "POST", f"/lists/{made['id']}/members", {"entityIds": [ann, bob]}
    )
    assert (added["added"], added["unchanged"], added["memberCount"]) == (2, 0, 2)
    again = await call(
        client, workspace, "POST", f"/lists/{made['id']}/members", {"entityIds": [ann]}
    )
    assert (again["added"], again["unchanged"], again["memberCount"]) == (0, 1, 2)
    members = await client.get(f"{API}/lists/{made['id']}/members", headers=workspace.headers)
    rows = members.json()["data"]
    assert {row["contact"]["email"] for row in rows} == {"ann@example.com", "bob@example.com"}
    first = await client.get(
        f"{API}/lists/{made['id']}/members", params={"limit": 1}, headers=workspace.headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["meta"]["hasMore"] is True
    cursor = first.json()["meta"]["nextCursor"]
    second = await client.get(
        f"{API}/lists/{made['id']}/members",
        params={"limit": 1, "cursor": cursor},
        headers=workspace.headers,
    )
    assert second.status_code == 200, second.text
    walked = [first.json()["data"][0]["entityId"], second.json()["data"][0]["entityId"]]
    assert sorted(walked) == sorted([ann, bob])
    removed = await call(
        client, workspace, "DELETE", f"/lists/{made['id']}/members", {"entityIds": [bob]}
    )
    assert (removed["removed"], removed["memberCount"]) == (1, 1)
    assert await member_ids(client, workspace, made["id"]) == {ann}
    joined = await events_of_type(client, workspace, "list.member_added")
    assert {(e["resourceType"], e["resourceId"]) for e in joined} == {
        ("contact", ann),
        ("contact", bob),
    }
    timeline = await client.get(f"{API}/contacts/{bob}/timeline", headers=workspace.headers)
    kinds = [item["event"]["type"] for item in timeline.json()["data"] if item["kind"] == "event"]
    assert "list.member_removed" in kinds
    assert "list.member_added" in kinds


async def test_refused_member_changes_change_nothing(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    foreign = await contact(client, other_workspace, email="zed@example.com")
    static = await call(client, workspace, "POST", "/lists", {"name": "Static"})
    dynamic = await call(
        client,
        workspace,
        "POST",
        "/lists",
        {"name": "Dynamic", "isDynamic": True, "filterCriteria": "email exists"},
    )
    reader = await add_key(database, workspace, ["crm:read"])
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    unknown = await client.post(
        f"{API}/lists/{static['id']}/members",
        json={"entityIds": [ann, foreign]},
        headers=workspace.headers,
    )
    error = assert_error(unknown, 422, "VALIDATION_FAILED")
    assert foreign in error["message"]
    on_dynamic = await client.post(
        f"{API}/lists/{dynamic['id']}/members", json={"entityIds": [ann]}, headers=workspace.headers
    )
    assert_error(on_dynamic, 400, "INVALID_REQUEST")
    too_many = await client.post(
        f"{API}/lists/{static['id']}/members",
        json={"entityIds": [ann] * 1001},
        headers=workspace.headers,
    )
    assert_error(too_many, 422, "VALIDATION_FAILED")
    other_list = await client.post(
        f"{API}/lists/{static['id']}/members",
        json={"entityIds": [foreign]},
        headers=other_workspace.headers,
    )
    assert_error(other_list, 404, "NOT_FOUND")
    no_scope = await client.post(
        f"{API}/lists/{static['id']}/members", json={"entityIds": [ann]}, headers=reader
    )
    assert_error(no_scope, 403, "FORBIDDEN")
    not_admin = await client.post(f"{API}/lists", json={"name": "X"}, headers=writer)
    assert_error(not_admin, 403, "FORBIDDEN")
    assert await snapshot(database) == before


async def test_a_dynamic_list_follows_changes_record_by_record(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, worker: Worker
) -> None:
    ann = await contact(client, workspace, email="ann@example.com", lifecycleStage="CUSTOMER")
    bob = await contact(client, workspace, email="bob@example.com", lifecycleStage="LEAD")
    customers = await call(
        client,
        workspace,
        "POST",
        "/lists",
        {
            "name": "Customers",
            "isDynamic": True,
            "filterCriteria": {
                "logic": "AND",
                "conditions": [{"field": "lifecycleStage", "operator": "eq", "value": "CUSTOMER"}],
            },
        },
    )
    assert customers["memberCount"] == 1
    assert customers["evaluatedAt"] is not None
    assert await member_ids(client, workspace, customers["id"]) == {ann}
    await settle(worker)
    await call(client, workspace, "PATCH", f"/contacts/{bob}", {"lifecycleStage": "CUSTOMER"})
    await call(client, workspace, "PATCH", f"/contacts/{ann}", {"lifecycleStage": "EVANGELIST"})
    await settle(worker)
    assert await member_ids(client, workspace, customers["id"]) == {bob}
    counted = await call(client, workspace, "GET", f"/lists/{customers['id']}")
    assert counted["memberCount"] == 1
    left = await events_of_type(client, workspace, "list.member_removed")
    assert [e["resourceId"] for e in left] == [ann]
    carl = await contact(client, workspace, email="carl@example.com", lifecycleStage="CUSTOMER")
    await settle(worker)
    assert await member_ids(client, workspace, customers["id"]) == {bob, carl}
    await call(client, workspace, "DELETE", f"/contacts/{carl}")
    assert await member_ids(client, workspace, customers["id"]) == {bob}


async def test_lists_use_lists_and_relations_and_refuse_cycles(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, worker: Worker
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    bob = await contact(client, workspace, email="bob@example.com")
    vip = await call(client, workspace, "POST", "/tags", {"key": "vip", "name": "VIP"})
    tagged = await call(
        client,
        workspace,
        "POST",
        "/lists",
        {"name": "VIPs", "isDynamic": True, "filterCriteria": "tag = vip"},
    )
    example = await call(
        client,
        workspace,
        "POST",
        "/lists",
        {
            "name": "VIPs at example.com",
            "isDynamic": True,
            "filterCriteria": f"list = {tagged['id']} AND email endsWith '@example.com'",
        },
    )
    assert example["memberCount"] == 0
    await call(client, workspace, "POST", f"/contacts/{bob}/tags", {"tagId": vip["id"]})
    await settle(worker)
    assert await member_ids(client, workspace, tagged["id"]) == {bob}
    assert await member_ids(client, workspace, example["id"]) == {bob}
    before = await snapshot(database)
    cycle = await client.patch(
        f"{API}/lists/{tagged['id']}",
        json={"filterCriteria": f"list = {example['id']}"},
        headers=workspace.headers,
    )
    error = assert_error(cycle, 422, "VALIDATION_FAILED")
    assert "cycle" in error["message"]
    in_use = await client.delete(f"{API}/lists/{tagged['id']}", headers=workspace.headers)
    assert_error(in_use, 409, "LIST_IN_USE")
    bad_query = await client.post(
        f"{API}/lists",
        json={"name": "Broken", "isDynamic": True, "filterCriteria": "email ==="},
        headers=workspace.headers,
    )
    detail = assert_error(bad_query, 400, "INVALID_QUERY")["details"][0]
    assert detail["field"] == "filterCriteria"
    assert await snapshot(database) == before
    evaluated = await call(client, workspace, "POST", f"/lists/{example['id']}/evaluate")
    assert (evaluated["memberCount"], evaluated["added"], evaluated["removed"]) == (1, 0, 0)
    static = await call(client, workspace, "POST", "/lists", {"name": "Static"})
    refused = await client.post(f"{API}/lists/{static['id']}/evaluate", headers=workspace.headers)
    assert_error(refused, 400, "INVALID_REQUEST")
    assert ann not in await member_ids(client, workspace, example["id"])


async def test_prospecting_adds_by_ids_companies_and_query_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ann = await contact(client, workspace, email="ann@example.com", lifecycleStage="LEAD")
    bob = await contact(client, workspace, email="bob@example.com")
    cat = await contact(client, workspace, email="cat@example.com")
    acme = await call(client, workspace, "POST", "/companies", {"name": "Acme"})
    await call(client, workspace, "POST", f"/contacts/{cat}/companies", {"companyId": acme["id"]})
    target = await call(client, workspace, "POST", "/lists", {"name": "Marketing"})
    path = "/prospecting/add-to-marketing-list"
    first = await call(
        client, workspace, "POST", path, {"listId": target["id"], "contactIds": [bob]}
    )
    assert (first["added"], first["alreadyPresent"], first["memberCount"]) == (1, 0, 1)
    by_company = await call(
        client, workspace, "POST", path, {"listId": target["id"], "companyIds": [acme["id"]]}
    )
    assert by_company["added"] == 1
    by_query = {"listId": target["id"], "filter": "lifecycleStage = LEAD OR email exists"}
    third = await call(client, workspace, "POST", path, by_query)
    assert (third["added"], third["alreadyPresent"], third["memberCount"]) == (1, 2, 3)
    again = await call(client, workspace, "POST", path, by_query)
    assert (again["added"], again["alreadyPresent"]) == (0, 3)
    assert await member_ids(client, workspace, target["id"]) == {ann, bob, cat}


async def test_a_merge_moves_static_memberships_to_the_winner(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await contact(client, workspace, email="win@example.com")
    loser = await contact(client, workspace, email="lose@example.com")
    both = await call(client, workspace, "POST", "/lists", {"name": "Both"})
    only_loser = await call(client, workspace, "POST", "/lists", {"name": "Loser's"})
    await call(
        client, workspace, "POST", f"/lists/{both['id']}/members", {"entityIds": [winner, loser]}
    )
    await call(
        client, workspace, "POST", f"/lists/{only_loser['id']}/members", {"entityIds": [loser]}
    )
    await call(client, workspace, "POST", f"/contacts/{winner}/merge", {"loserId": loser})
    assert await member_ids(client, workspace, both["id"]) == {winner}
    assert await member_ids(client, workspace, only_loser["id"]) == {winner}
    counts = [
        await call(client, workspace, "GET", f"/lists/{i}") for i in (both["id"], only_loser["id"])
    ]
    assert [c["memberCount"] for c in counts] == [1, 1]
