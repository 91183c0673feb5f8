"""Attacks on lists: their rules, other workspaces, scopes, concurrent changes, and dynamic
lists following every kind of change with exact counts.

Tests marked xfail describe defects: they assert the behaviour the documents promise."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.lists.repository import MemberRepository
from rapport.worker.loop import Worker
from rapport.worker.queue import enqueue
from tests.helpers import Workspace, add_key, assert_error, snapshot
from tests.lists.calls import API, call, contact, settle


async def make_list(client: httpx.AsyncClient, ws: Workspace, name: str, **body: Any) -> str:
    if "filterCriteria" in body:
        body.setdefault("isDynamic", True)
    return str((await call(client, ws, "POST", "/lists", {"name": name, **body}))["id"])


async def exact(client: httpx.AsyncClient, ws: Workspace, list_id: str) -> set[str]:
    """The members, every page of them, once it is checked that none is listed twice and
    that memberCount is their number."""
    listed: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(
            f"{API}/lists/{list_id}/members", params=params, headers=ws.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        listed += [row["entityId"] for row in page["data"]]
        cursor = page["meta"]["nextCursor"]
        if not cursor:
            break
    assert len(listed) == len(set(listed)), "a member is listed twice"
    counted = (await call(client, ws, "GET", f"/lists/{list_id}"))["memberCount"]
    assert counted == len(listed), f"memberCount {counted}, members listed {len(listed)}"
    return set(listed)


async def test_names_and_kinds_are_checked_and_refusals_change_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    first = await make_list(client, workspace, "Newsletter")
    await make_list(client, workspace, "Newsletter", entityType="COMPANY")
    dynamic = await make_list(client, workspace, "Everyone", filterCriteria="email exists")
    before = await snapshot(database)
    for body, status, code, field in (
        ({"name": "Newsletter"}, 409, "LIST_NAME_EXISTS", "name"),
        ({"name": "  Newsletter  "}, 409, "LIST_NAME_EXISTS", "name"),
        ({"name": "   "}, 422, "VALIDATION_FAILED", "name"),
        ({"name": "x" * 201}, 422, "VALIDATION_FAILED", "name"),
        ({"name": "S", "filterCriteria": "email exists"}, 422, "VALIDATION_FAILED", None),
        ({"name": "D", "isDynamic": True}, 422, "VALIDATION_FAILED", "filterCriteria"),
        ({"name": "D", "isDynamic": True, "filterCriteria": ""}, 400, "INVALID_QUERY", None),
        ({"name": "D", "isDynamic": True, "filterCriteria": {}}, 400, "INVALID_QUERY", None),
        (
            {"name": "D", "isDynamic": True, "filterCriteria": "nope = 1"},
            400,
            "INVALID_QUERY",
            None,
        ),
        ({"name": "D", "entityType": "LEAD"}, 422, "VALIDATION_FAILED", "entityType"),
        ({"name": "D", "memberCount": 5}, 422, "VALIDATION_FAILED", "memberCount"),
    ):
        error = assert_error(
            await client.post(f"{API}/lists", json=body, headers=workspace.headers), status, code
        )
        field = field or "filterCriteria"
        assert error["details"][0]["field"].startswith(field), (body, error)
        if code == "LIST_NAME_EXISTS":
            assert error["details"][0]["existingId"] == first
    for list_id, body, status, code in (
        (first, {"filterCriteria": "email exists"}, 422, "VALIDATION_FAILED"),
        (first, {"filterCriteria": None}, 422, "VALIDATION_FAILED"),
        (first, {"isDynamic": True}, 422, "VALIDATION_FAILED"),
        (first, {"name": None}, 422, "VALIDATION_FAILED"),
        (dynamic, {"filterCriteria": None}, 422, "VALIDATION_FAILED"),
        (dynamic, {"name": "Newsletter"}, 409, "LIST_NAME_EXISTS"),
        (dynamic, {"name": "Renamed", "filterCriteria": "email ==="}, 400, "INVALID_QUERY"),
        (
            dynamic,
            {"name": "Renamed", "filterCriteria": "createdAt on 2026-02-30"},
            400,
            "INVALID_QUERY",
        ),
        (dynamic, {"filterCriteria": f"list = {uuid.uuid4()}"}, 422, "VALIDATION_FAILED"),
    ):
        response = await client.patch(
            f"{API}/lists/{list_id}", json=body, headers=workspace.headers
        )
        assert_error(response, status, code)
    refused = await client.post(f"{API}/lists/{first}/evaluate", headers=workspace.headers)
    assert_error(refused, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before


async def test_member_ids_are_checked_one_by_one(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    bob = await contact(client, workspace, email="bob@example.com")
    gone = await contact(client, workspace, email="gone@example.com")
    await call(client, workspace, "DELETE", f"/contacts/{gone}")
    acme = (await call(client, workspace, "POST", "/companies", {"name": "Acme"}))["id"]
    foreign = await contact(client, other_workspace, email="zed@example.com")
    people = await make_list(client, workspace, "People")
    firms = await make_list(client, workspace, "Firms", entityType="COMPANY")
    added = await call(
        client, workspace, "POST", f"/lists/{people}/members", {"entityIds": [ann, ann, bob]}
    )
    assert (added["added"], added["unchanged"], added["memberCount"]) == (2, 0, 2)
    assert await exact(client, workspace, people) == {ann, bob}
    before = await snapshot(database)
    strangers = [str(uuid.uuid4()) for _ in range(1000)]
    for list_id, ids, status, named in (
        (people, [ann, gone], 422, gone),
        (people, [ann, acme], 422, acme),
        (people, [foreign], 422, foreign),
        (firms, [acme, ann], 422, ann),
        (people, strangers, 422, strangers[0]),
        (people, [*strangers, ann], 422, None),
        (people, [], 422, None),
        (people, ["not-an-id"], 422, None),
    ):
        response = await client.post(
            f"{API}/lists/{list_id}/members", json={"entityIds": ids}, headers=workspace.headers
        )
        error = assert_error(response, status, "VALIDATION_FAILED")
        assert error["details"][0]["field"].startswith("entityIds")
        assert len(error["details"]) <= 100
        if named:
            assert named in error["message"]
    removed = await call(
        client, workspace, "DELETE", f"/lists/{people}/members", {"entityIds": [foreign, gone]}
    )
    assert (removed["removed"], removed["unchanged"], removed["memberCount"]) == (0, 2, 2)
    assert await snapshot(database) == before
    company_added = await call(
        client, workspace, "POST", f"/lists/{firms}/members", {"entityIds": [acme]}
    )
    assert company_added["memberCount"] == 1
    by_post = await call(
        client, workspace, "POST", f"/lists/{people}/members/remove", {"entityIds": [bob, bob]}
    )
    assert (by_post["removed"], by_post["memberCount"]) == (1, 1)
    assert await exact(client, workspace, people) == {ann}
    assert await exact(client, workspace, firms) == {acme}


async def test_prospecting_takes_static_lists_of_contacts_only(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    dynamic = await make_list(client, workspace, "Dynamic", filterCriteria="email exists")
    firms = await make_list(client, workspace, "Firms", entityType="COMPANY")
    static = await make_list(client, workspace, "Static")
    theirs = await make_list(client, other_workspace, "Theirs")
    before = await snapshot(database)
    path = f"{API}/prospecting/add-to-marketing-list"
    for body, status, code in (
        ({"listId": dynamic, "contactIds": [ann]}, 400, "INVALID_REQUEST"),
        ({"listId": firms, "contactIds": [ann]}, 422, "VALIDATION_FAILED"),
        ({"listId": theirs, "contactIds": [ann]}, 404, "NOT_FOUND"),
        ({"listId": str(uuid.uuid4()), "contactIds": [ann]}, 404, "NOT_FOUND"),
        ({"listId": static}, 422, "VALIDATION_FAILED"),
        (
            {"listId": static, "contactIds": [ann], "filter": "email exists"},
            422,
            "VALIDATION_FAILED",
        ),
        ({"listId": static, "filter": "email ==="}, 400, "INVALID_QUERY"),
        (
            {"listId": static, "filter": {"conditions": [{"field": "x", "operator": "eq"}]}},
            400,
            "INVALID_QUERY",
        ),
        ({"listId": static, "filter": "createdAt on 2026-02-30"}, 400, "INVALID_QUERY"),
    ):
        response = await client.post(path, json=body, headers=workspace.headers)
        assert_error(response, status, code)
    assert await snapshot(database) == before
    added = await call(
        client,
        workspace,
        "POST",
        "/prospecting/add-to-marketing-list",
        {"listId": static, "filter": "email exists"},
    )
    assert (added["added"], added["memberCount"]) == (1, 1)
    assert await exact(client, workspace, static) == {ann}


async def test_prospecting_refuses_contact_ids_of_another_workspace(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    static = await make_list(client, workspace, "Static")
    foreign = await contact(client, other_workspace, email="zed@example.com")
    response = await client.post(
        f"{API}/prospecting/add-to-marketing-list",
        json={"listId": static, "contactIds": [foreign]},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"].startswith("contactIds")


async def test_cycles_and_lists_in_use_are_refused(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    await contact(client, workspace, email="ann@example.com")
    a = await make_list(client, workspace, "A", filterCriteria="email exists")
    b = await make_list(client, workspace, "B", filterCriteria=f"list = {a}")
    c = await make_list(client, workspace, "C", filterCriteria=f"list = {b} AND email exists")
    firms = await make_list(client, workspace, "Firms", entityType="COMPANY")
    theirs = await make_list(client, other_workspace, "Theirs", filterCriteria="email exists")
    before = await snapshot(database)
    refusals = [
        (a, f"list = {a}"),
        (a, f"NOT list = {a}"),
        (a, f"`LIST` = '{{{a}}}'"),
        (a, f"list = '{a.upper()}'"),
        (a, {"conditions": [{"field": " List ", "operator": "in", "value": [a]}]}),
        (a, f"list = {b}"),
        (a, f"email exists OR list in ({firms}, {c})"),
        (b, f"list = {c}"),
        (a, f"list = {firms}"),
        (a, f"list = {theirs}"),
    ]
    for list_id, criteria in refusals:
        response = await client.patch(
            f"{API}/lists/{list_id}", json={"filterCriteria": criteria}, headers=workspace.headers
        )
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"][0]["field"] == "filterCriteria", criteria
    made = await client.post(
        f"{API}/lists",
        json={"name": "D", "isDynamic": True, "filterCriteria": f"list = {theirs}"},
        headers=workspace.headers,
    )
    assert_error(made, 422, "VALIDATION_FAILED")
    for used in (a, b):
        in_use = await client.delete(f"{API}/lists/{used}", headers=workspace.headers)
        assert_error(in_use, 409, "LIST_IN_USE")
    assert await snapshot(database) == before
    await call(client, workspace, "DELETE", f"/lists/{c}")
    await call(client, workspace, "DELETE", f"/lists/{b}")
    await call(client, workspace, "DELETE", f"/lists/{a}")


async def test_lists_named_through_a_relation_are_checked_and_protected(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    firms = await make_list(client, workspace, "Firms", entityType="COMPANY")
    await make_list(client, workspace, "At listed firms", filterCriteria=f"company.list = {firms}")
    theirs = await make_list(client, other_workspace, "Theirs", entityType="COMPANY")
    before = await snapshot(database)
    in_use = await client.delete(f"{API}/lists/{firms}", headers=workspace.headers)
    assert_error(in_use, 409, "LIST_IN_USE")
    for named in (theirs, str(uuid.uuid4())):
        response = await client.post(
            f"{API}/lists",
            json={"name": "X", "isDynamic": True, "filterCriteria": f"company.list = {named}"},
            headers=workspace.headers,
        )
        assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_another_workspace_gets_404_everywhere_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace, database: Database
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    static = await make_list(client, workspace, "Static")
    dynamic = await make_list(client, workspace, "Dynamic", filterCriteria="email exists")
    await call(client, workspace, "POST", f"/lists/{static}/members", {"entityIds": [ann]})
    theirs = await contact(client, other_workspace, email="zed@example.com")
    before = await snapshot(database)
    for method, path, body in (
        ("GET", f"/lists/{static}", None),
        ("PATCH", f"/lists/{static}", {"name": "Mine now"}),
        ("PATCH", f"/lists/{dynamic}", {"filterCriteria": "email isEmpty"}),
        ("DELETE", f"/lists/{static}", None),
        ("DELETE", f"/lists/{dynamic}", None),
        ("POST", f"/lists/{dynamic}/evaluate", None),
        ("GET", f"/lists/{static}/members", None),
        ("POST", f"/lists/{static}/members", {"entityIds": [theirs]}),
        ("DELETE", f"/lists/{static}/members", {"entityIds": [ann]}),
        ("POST", f"/lists/{static}/members/remove", {"entityIds": [ann]}),
        ("POST", "/prospecting/add-to-marketing-list", {"listId": static, "contactIds": [theirs]}),
    ):
        response = await client.request(
            method, f"{API}{path}", json=body, headers=other_workspace.headers
        )
        assert_error(response, 404, "NOT_FOUND")
    mine = await client.get(f"{API}/lists", headers=other_workspace.headers)
    assert mine.json()["data"] == []
    for method, path in (
        ("GET", "/lists/not-an-id"),
        ("PATCH", "/lists/not-an-id"),
        ("DELETE", "/lists/not-an-id"),
        ("POST", "/lists/not-an-id/evaluate"),
        ("GET", "/lists/not-an-id/members"),
    ):
        response = await client.request(
            method,
            f"{API}{path}",
            json={} if method == "PATCH" else None,
            headers=workspace.headers,
        )
        assert_error(response, 400, "INVALID_ID")
    assert await snapshot(database) == before


async def test_scopes(client: httpx.AsyncClient, workspace: Workspace, database: Database) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    static = await make_list(client, workspace, "Static")
    dynamic = await make_list(client, workspace, "Dynamic", filterCriteria="email exists")
    reader = await add_key(database, workspace, ["crm:read"])
    writer = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    for headers, method, path, body in (
        (reader, "GET", "/lists", None),
        (reader, "GET", f"/lists/{static}", None),
        (reader, "GET", f"/lists/{dynamic}/members", None),
        (reader, "POST", "/query", {"entity": "contact", "where": f"list = {dynamic}"}),
        (reader, "POST", "/contacts/filter", {"where": "email exists"}),
        (reader, "POST", "/query/validate", {"entity": "lead", "where": "value > 1"}),
        (reader, "GET", "/fields?entity=company", None),
    ):
        response = await client.request(method, f"{API}{path}", json=body, headers=headers)
        assert response.status_code == 200, (path, response.text)
    for headers, scope, method, path, body in (
        (reader, "crm:write", "POST", f"/lists/{static}/members", {"entityIds": [ann]}),
        (reader, "crm:write", "DELETE", f"/lists/{static}/members", {"entityIds": [ann]}),
        (reader, "crm:write", "POST", f"/lists/{static}/members/remove", {"entityIds": [ann]}),
        (
            reader,
            "crm:write",
            "POST",
            "/prospecting/add-to-marketing-list",
            {"listId": static, "contactIds": [ann]},
        ),
        (writer, "crm:admin", "POST", "/lists", {"name": "X"}),
        (writer, "crm:admin", "PATCH", f"/lists/{static}", {"name": "Y"}),
        (writer, "crm:admin", "DELETE", f"/lists/{static}", None),
        (writer, "crm:admin", "POST", f"/lists/{dynamic}/evaluate", None),
        (reader, "crm:admin", "POST", f"/lists/{dynamic}/evaluate", None),
    ):
        response = await client.request(method, f"{API}{path}", json=body, headers=headers)
        assert scope in assert_error(response, 403, "FORBIDDEN")["message"]
    assert await snapshot(database) == before
    added = await client.post(
        f"{API}/lists/{static}/members", json={"entityIds": [ann]}, headers=writer
    )
    assert added.status_code == 200, added.text


async def test_concurrent_member_changes_keep_an_exact_count(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ids = [await contact(client, workspace, email=f"c{i}@example.com") for i in range(12)]
    target = await make_list(client, workspace, "Target")

    async def send(method: str, chosen: list[str]) -> httpx.Response:
        return await client.request(
            method,
            f"{API}/lists/{target}/members",
            json={"entityIds": chosen},
            headers=workspace.headers,
        )

    same = await asyncio.gather(*(send("POST", ids[:6]) for _ in range(4)))
    assert [r.status_code for r in same] == [200] * 4
    assert sorted(r.json()["data"]["added"] for r in same) == [0, 0, 0, 6]
    assert await exact(client, workspace, target) == set(ids[:6])
    different = await asyncio.gather(*(send("POST", [i]) for i in ids[6:]))
    assert [r.json()["data"]["added"] for r in different] == [1] * 6
    overlapping = await asyncio.gather(send("POST", ids[:8]), send("POST", ids[4:]))
    assert [r.status_code for r in overlapping] == [200, 200]
    assert await exact(client, workspace, target) == set(ids)
    removals = await asyncio.gather(*(send("DELETE", ids[:3]) for _ in range(3)))
    assert sorted(r.json()["data"]["removed"] for r in removals) == [0, 0, 3]
    mixed = await asyncio.gather(send("DELETE", ids[3:6]), send("POST", ids[:4]))
    assert [r.status_code for r in mixed] == [200, 200]
    # Either order is right: the removal first (then ids[3] joins again) or the addition.
    rejoined = {ids[3]} if mixed[1].json()["data"]["added"] == 4 else set()
    assert await exact(client, workspace, target) == set(ids[:3]) | set(ids[6:]) | rejoined


async def test_concurrent_creations_under_one_name_make_one_list(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    made = await asyncio.gather(
        *(
            client.post(f"{API}/lists", json={"name": "Same"}, headers=workspace.headers)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in made) == [201, 409, 409, 409]
    for refused in (r for r in made if r.status_code == 409):
        assert_error(refused, 409, "LIST_NAME_EXISTS")


async def test_concurrent_query_changes_cannot_make_a_cycle(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    worker: Worker,
    request: pytest.FixtureRequest,
) -> None:
    await contact(client, workspace, email="ann@example.com")
    a = await make_list(client, workspace, "A", filterCriteria="email exists")
    b = await make_list(client, workspace, "B", filterCriteria="email exists")
    await settle(worker)
    changed = await asyncio.gather(
        client.patch(
            f"{API}/lists/{a}",
            json={"filterCriteria": f"NOT list = {b}"},
            headers=workspace.headers,
        ),
        client.patch(
            f"{API}/lists/{b}", json={"filterCriteria": f"list = {a}"}, headers=workspace.headers
        ),
    )
    assert sorted(r.status_code for r in changed) == [200, 422]
    await settle(worker)


async def test_a_removal_racing_a_contact_deletion_keeps_the_count_exact(
    client: httpx.AsyncClient, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    bob = await contact(client, workspace, email="bob@example.com")
    target = await make_list(client, workspace, "Target")
    await call(client, workspace, "POST", f"/lists/{target}/members", {"entityIds": [ann, bob]})
    original = MemberRepository.lists_holding
    raced: list[int] = []

    async def then_removed(self: MemberRepository, record_id: uuid.UUID) -> list[uuid.UUID]:
        """The deletion has read which lists hold ann; a removal commits before it goes on."""
        found = await original(self, record_id)
        if str(record_id) == ann and not raced:
            removal = await client.request(
                "DELETE",
                f"{API}/lists/{target}/members",
                json={"entityIds": [ann]},
                headers=workspace.headers,
            )
            raced.append(removal.status_code)
        return found

    monkeypatch.setattr(MemberRepository, "lists_holding", then_removed)
    await call(client, workspace, "DELETE", f"/contacts/{ann}")
    assert raced == [200]
    assert await exact(client, workspace, target) == {bob}


async def test_a_deleted_contact_leaves_every_list_at_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    bob = await contact(client, workspace, email="bob@example.com")
    static = await make_list(client, workspace, "Static")
    await call(client, workspace, "POST", f"/lists/{static}/members", {"entityIds": [ann, bob]})
    dynamic = await make_list(client, workspace, "Dynamic", filterCriteria="email exists")
    using = await make_list(client, workspace, "Using", filterCriteria=f"list = {static}")
    await call(client, workspace, "DELETE", f"/contacts/{ann}")
    for list_id in (static, dynamic, using):
        assert await exact(client, workspace, list_id) == {bob}
    again = await client.post(
        f"{API}/lists/{static}/members", json={"entityIds": [ann]}, headers=workspace.headers
    )
    assert_error(again, 422, "VALIDATION_FAILED")
    evaluated = await call(client, workspace, "POST", f"/lists/{dynamic}/evaluate")
    assert (evaluated["memberCount"], evaluated["added"], evaluated["removed"]) == (1, 0, 0)


async def test_dynamic_lists_follow_every_kind_of_change(
    client: httpx.AsyncClient, workspace: Workspace, worker: Worker
) -> None:
    ws = workspace
    await call(
        client,
        ws,
        "POST",
        "/properties",
        {"key": "score", "entity": "CONTACT", "label": "Score", "type": "NUMBER"},
    )
    ann = await contact(client, ws, email="ann@example.com")
    bob = await contact(client, ws, email="bob@example.com")
    acme = (await call(client, ws, "POST", "/companies", {"name": "Acme", "industry": "Retail"}))[
        "id"
    ]
    await call(client, ws, "POST", f"/contacts/{ann}/companies", {"companyId": acme})
    vip = (await call(client, ws, "POST", "/tags", {"key": "vip", "name": "VIP"}))["id"]
    criteria = {
        "tag": "tag = vip",
        "saas": "company.industry = SaaS",
        "called": "has activity CALL",
        "open": "lead.status = open",
        "scored": "score > 10",
        "moved": "email endsWith '@elsewhere.org'",
    }
    lists = {
        name: await make_list(client, ws, name, filterCriteria=where)
        for name, where in criteria.items()
    }
    lists["both"] = await make_list(
        client, ws, "both", filterCriteria=f"list = {lists['tag']} AND score > 10"
    )
    lists["firms"] = await make_list(
        client, ws, "firms", entityType="COMPANY", filterCriteria="industry = SaaS"
    )
    await settle(worker)
    names = {ann: "ann", bob: "bob", acme: "acme"}

    async def now() -> dict[str, set[str]]:
        found = {}
        for name, list_id in lists.items():
            members = await exact(client, ws, list_id)
            if members:
                found[name] = {names[i] for i in members}
        return found

    assert await now() == {}
    await call(client, ws, "POST", f"/contacts/{ann}/tags", {"tagId": vip})
    await settle(worker)
    assert await now() == {"tag": {"ann"}}
    await call(client, ws, "PATCH", f"/contacts/{ann}", {"properties": {"score": 20}})
    await settle(worker)
    assert await now() == {"tag": {"ann"}, "scored": {"ann"}, "both": {"ann"}}
    await call(client, ws, "DELETE", f"/contacts/{ann}/tags/vip")
    await settle(worker)
    assert await now() == {"scored": {"ann"}}
    await call(client, ws, "PATCH", f"/companies/{acme}", {"industry": "SaaS"})
    await settle(worker)
    assert await now() == {"scored": {"ann"}, "saas": {"ann"}, "firms": {"acme"}}
    call_id = (await call(client, ws, "POST", f"/contacts/{bob}/activities", {"type": "CALL"}))[
        "id"
    ]
    lead = (await call(client, ws, "POST", "/leads", {"title": "Deal", "contactId": bob}))["id"]
    await call(client, ws, "PATCH", f"/contacts/{bob}", {"email": "bob@elsewhere.org"})
    await settle(worker)
    assert await now() == {
        "scored": {"ann"},
        "saas": {"ann"},
        "firms": {"acme"},
        "called": {"bob"},
        "open": {"bob"},
        "moved": {"bob"},
    }
    pipelines = (await client.get(f"{API}/pipelines", headers=ws.headers)).json()["data"]
    won = next(s for p in pipelines for s in p["stages"] if s["kind"].lower() == "won")
    await call(client, ws, "PATCH", f"/leads/{lead}/stage", {"stageId": won["id"]})
    await call(client, ws, "DELETE", f"/activities/{call_id}")
    await call(client, ws, "DELETE", f"/contacts/{ann}/companies/{acme}")
    await call(client, ws, "PATCH", f"/contacts/{ann}", {"properties": {"score": 5}})
    await settle(worker)
    assert await now() == {"firms": {"acme"}, "moved": {"bob"}}


async def test_every_change_that_needs_a_rebuild_gets_one(
    client: httpx.AsyncClient, workspace: Workspace, worker: Worker
) -> None:
    ann = await contact(client, workspace, email="ann@example.com")
    bob = await contact(client, workspace, email="bob@example.com")
    tags = {}
    for key, who in (("vip", ann), ("gold", bob)):
        tags[key] = (await call(client, workspace, "POST", "/tags", {"key": key, "name": key}))[
            "id"
        ]
        await call(client, workspace, "POST", f"/contacts/{who}/tags", {"tagId": tags[key]})
    await settle(worker)  # the workspace's own events, before it has dynamic lists
    vips = await make_list(client, workspace, "VIPs", filterCriteria="tag = vip")
    golds = await make_list(client, workspace, "Golds", filterCriteria="tag = gold")
    await settle(worker)
    assert await exact(client, workspace, vips) == {ann}
    await call(client, workspace, "DELETE", f"/tags/{tags['vip']}")
    await settle(worker)
    assert await exact(client, workspace, vips) == set()
    await call(client, workspace, "DELETE", f"/tags/{tags['gold']}")
    await settle(worker)
    assert await exact(client, workspace, golds) == set()


async def test_a_list_depending_on_the_time_is_refreshed_every_minute(
    client: httpx.AsyncClient,
    workspace: Workspace,
    worker: Worker,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recent = await make_list(
        client, workspace, "Called lately", filterCriteria="has activity CALL within last 1 minutes"
    )

    async def a_minute_passes() -> None:
        """What the scheduler does each minute: queue lists.refresh_relative, then run it."""
        async with database.transaction(platform="the test plays the scheduler") as session:
            await enqueue(session, "lists.refresh_relative")
        await settle(worker)

    await a_minute_passes()
    ann = await contact(client, workspace, email="ann@example.com")
    occurred = utcnow() - timedelta(seconds=58)
    await call(
        client,
        workspace,
        "POST",
        f"/contacts/{ann}/activities",
        {"type": "CALL", "occurredAt": occurred.isoformat().replace("+00:00", "Z")},
    )
    await settle(worker)
    assert await exact(client, workspace, recent) == {ann}
    await asyncio.sleep(max(0.0, (occurred + timedelta(seconds=61) - utcnow()).total_seconds()))
    # The next minute's run (the scheduler queues one a minute).
    monkeypatch.setattr("rapport.lists.tasks.utcnow", lambda: utcnow() + timedelta(minutes=1))
    await a_minute_passes()
    assert await exact(client, workspace, recent) == set()
