"""Hostile queries against POST /query, /contacts|companies|leads/filter, /query/validate and
`?where=`: every refusal is a quick 4xx naming what is wrong, never a 500, and other
workspaces' ids match nothing.

Tests marked xfail describe defects: they assert the behaviour the documents promise."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rapport.kit.db import Database
from tests.helpers import Workspace, assert_error, snapshot

API = "/api/v1"
QUICK = 1.0
"""Seconds a refusal (or a small query) may take."""


async def post(client: httpx.AsyncClient, ws: Workspace, path: str, body: Any) -> Any:
    response = await client.post(f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def define(client: httpx.AsyncClient, ws: Workspace, key: str, kind: str) -> None:
    body = {"key": key, "entity": "CONTACT", "label": key, "type": kind}
    await post(client, ws, "/properties", body)


async def seed(client: httpx.AsyncClient, ws: Workspace) -> str:
    """Typed custom properties and one contact with a call; the contact's id."""
    for key, kind in (("mrr", "NUMBER"), ("born", "DATE"), ("seen", "DATETIME")):
        await define(client, ws, key, kind)
    await define(client, ws, "flag", "BOOLEAN")
    contact = await post(client, ws, "/contacts", {"email": "ann@example.com"})
    ann = str(contact["data"]["id"])
    await post(client, ws, f"/contacts/{ann}/activities", {"type": "CALL", "subject": "Intro"})
    return ann


def condition(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def filtered(*conditions: dict[str, Any], logic: str = "AND") -> dict[str, Any]:
    return {"entity": "contact", "filter": {"logic": logic, "conditions": list(conditions)}}


@pytest.fixture
async def lenient(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that receives the 500 an unhandled error becomes, as a real client would,
    instead of the exception itself."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def on_postgres_only(request: pytest.FixtureRequest, database: Database, reason: str) -> None:
    if database.dialect == "postgresql":
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def on_sqlite_only(request: pytest.FixtureRequest, database: Database, reason: str) -> None:
    if database.dialect == "sqlite":
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


TEXT_REFUSALS: dict[str, str] = {
    # query: what the message must name (the field, or the place in the text)
    "createdAt before 0000-01-01": "createdAt",
    "createdAt before 999999 years ago": "createdAt",
    "createdAt within last 999999999 weeks": "createdAt",
    "createdAt within last 0 days": "column 23",
    "createdAt on 2026-02-30": "createdAt",
    "born within last 100000 years": "born",
    "mrr > 1e309": "column 7",
    "mrr > 99999999999999999999": "column 7",
    "mrr > true": "mrr",
    "mrr contains 1": "mrr",
    "flag = 1": "flag",
    "flag = yes": "flag",
    "tag > 1": "tag",
    "id = 'not-an-id'": "id",
    "has activity FOO": "activity",
    "has activity CALL within last 0 days": "column",
    "list = not-a-uuid": "list",
    "list = 'not-a-uuid'": "list",
    "company.company.name = x": "company.company.name",
    "lead.contact.email = x": "lead.contact.email",
    "primaryCompany.lead.status = open": "primaryCompany.lead.status",
    "`properties.` = 1": "properties.",
    "properties. = 1": "column 11",
    "email in ()": "column 11",
    "email = " + "x" * 1001: "email",
    "mrr between 1 and": "column 18",
    "(" * 65 + "email exists" + ")" * 65: "nests more than 64",
    "NOT " * 65 + "email exists": "nests more than 64",
    "email = 'unterminated": "unterminated",
}


async def test_hostile_text_queries_are_quick_400s_naming_the_field(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await seed(client, workspace)
    before = await snapshot(database)
    for where, named in TEXT_REFUSALS.items():
        started = time.perf_counter()
        response = await client.post(
            f"{API}/query", json={"entity": "contact", "where": where}, headers=workspace.headers
        )
        elapsed = time.perf_counter() - started
        error = assert_error(response, 400, "INVALID_QUERY")
        detail = error["details"][0]
        assert detail["field"] == "where", where
        assert named in error["message"], (where[:80], error["message"])
        assert detail["line"] == 1, where[:80]
        assert elapsed < QUICK, (where[:80], elapsed)
    assert await snapshot(database) == before


async def test_edge_values_that_fit_are_answered(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ann = await seed(client, workspace)
    found = {
        "(" * 64 + "email exists" + ")" * 64: {ann},
        "NOT " * 64 + "email exists": {ann},
        "mrr > -0": set(),
        "mrr = 1e15": set(),
        "createdAt before 9999-12-31T23:59:59Z": {ann},
        "createdAt after 0001-01-01": {ann},
        "createdAt between 2020-01-01 and 9999-12-31T23:59:59": {ann},
        "createdAt within last 100000 weeks": {ann},
        "born on 9999-12-31": set(),
        "born after 9999-12-31": set(),
        "has activity": {ann},
        "has no activity CALL": set(),
        "list = '{0196f1c2-5a6b-7c8d-9e0f-123456789abc}'": set(),
        "email = '\\u0000'": set(),
    }
    for where, expected in found.items():
        answer = await post(client, workspace, "/query", {"entity": "contact", "where": where})
        assert {row["id"] for row in answer["data"]} == expected, where[:80]
    values = [f"v{i}" for i in range(1000)]
    answer = await post(client, workspace, "/query", filtered(condition("email", "in", values)))
    assert answer["data"] == []


JSON_REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    # condition, the member named, a word of the message
    (condition("mrr", "eq", [1, 2]), "value", "number"),
    (condition("mrr", "eq", {"a": 1}), "value", "value"),
    (condition("mrr", "eq", True), "value", "number"),
    (condition("mrr", "gt", "1e309"), "value", "finite"),
    (condition("mrr", "gt", 10**18), "value", "1e15"),
    (condition("mrr", "gt", "9" * 5000), "value", "number"),
    (condition("mrr", "between", [1]), "value", "2 values"),
    (condition("born", "eq", True), "value", "date"),
    (condition("born", "eq", 20260131), "value", "date"),
    (condition("seen", "before", ["2026-01-01"]), "value", "date"),
    (condition("createdAt", "before", 12345), "value", "date"),
    (condition("createdAt", "eq", "2026-01-01"), "operator", "datetime"),
    (condition("createdAt", "withinLast", "0 days"), "value", "between 1 and 100000"),
    (condition("createdAt", "withinLast", {"amount": True, "unit": "days"}), "value", "length"),
    (condition("createdAt", "before", "999999 years ago"), "value", "between 1 and 100000"),
    (condition("flag", "eq", "maybe"), "value", "true or false"),
    (condition("id", "eq", 5), "value", "id"),
    (condition("list", "eq", 5), "value", "id"),
    (condition("list", "eq", "not-a-uuid"), "value", "id"),
    (condition("status", "in", [["ACTIVE"]]), "value", "text"),
    (condition("status", "in", [{}]), "value", "text"),
    (condition("status", "eq", "NOPE"), "value", "ACTIVE"),
    (condition("status", "in", []), "value", "at least one"),
    (condition("tag", "eq", {"x": 1}), "value", "value"),
    (condition("email", "contains", "x" * 1001), "value", "1000"),
    (condition("email", "contains", ""), "value", "empty"),
    (condition("email", "eq", None), "value", "isEmpty"),
    (condition("email", "like", "a"), "operator", "must be one of"),
    (condition("email", "has", "a"), "operator", "activity"),
    (condition("email", "gt", "a"), "operator", "does not apply"),
    (condition("e" * 300, "eq", "a"), "field", "field"),
    (condition("company.company.name", "eq", "a"), "field", "Unknown field"),
    (condition("properties.", "eq", "a"), "field", "Unknown field"),
    ({**condition("email", "exists"), "negate": "yes"}, "negate", "true or false"),
    ({**condition("email", "exists"), "extra": 1}, "extra", "unknown member"),
    ({"type": "weird"}, "type", "field, group or activity"),
    ({"type": "activity", "activityType": "FOO"}, "value", "CALL"),
    ({"type": "activity", "activityType": 5}, "activityType", "activity type"),
    ({"type": "activity", "withinLast": "forever"}, "withinLast", "length of time"),
]


async def test_wrong_json_values_are_400s_naming_their_member(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await seed(client, workspace)
    before = await snapshot(database)
    for item, member, word in JSON_REFUSALS:
        for path in ("/query", "/contacts/filter"):
            body = filtered(item)
            if path != "/query":
                del body["entity"]
            response = await client.post(f"{API}{path}", json=body, headers=workspace.headers)
            error = assert_error(response, 400, "INVALID_QUERY")
            detail = error["details"][0]
            assert detail["field"] == f"filter.conditions[0].{member}", (item, detail)
            assert word in detail["message"], (item, detail)
    every = filtered(*(JSON_REFUSALS[i][0] for i in (0, 2, 3, 4, 5, 6)))
    check = await post(client, workspace, "/query/validate", every)
    assert check["valid"] is False
    assert [e["field"] for e in check["errors"]] == [
        f"filter.conditions[{i}].value" for i in range(6)
    ]
    assert await snapshot(database) == before


async def test_bodies_too_big_or_too_strange_are_refused(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await seed(client, workspace)
    before = await snapshot(database)
    exists = condition("email", "exists")
    thousand = {"conditions": [exists] * 1000}
    started = time.perf_counter()
    five_thousand = {"entity": "contact", "filter": {"conditions": [thousand] * 5}}
    error = assert_error(
        await client.post(f"{API}/query", json=five_thousand, headers=workspace.headers),
        400,
        "INVALID_QUERY",
    )
    assert "at most 500" in error["message"]
    assert time.perf_counter() - started < QUICK
    five_thousand_one = {"entity": "contact", "filter": {"conditions": [thousand] * 5 + [exists]}}
    error = assert_error(
        await client.post(f"{API}/query", json=five_thousand_one, headers=workspace.headers),
        400,
        "INVALID_QUERY",
    )
    assert error["details"][0]["field"] == "filter.conditions[5]"
    assert "5000 conditions" in error["message"]
    too_many = filtered(condition("email", "in", [f"v{i}" for i in range(1001)]))
    error = assert_error(
        await client.post(f"{API}/query", json=too_many, headers=workspace.headers),
        422,
        "VALIDATION_FAILED",
    )
    assert error["details"][0]["field"] == "filter.conditions[0].value"
    for depth in (64, 65):
        node: dict[str, Any] = {"conditions": [exists]}
        for _ in range(depth - 1):
            node = {"logic": "OR", "conditions": [node]}
        response = await client.post(
            f"{API}/query", json={"entity": "contact", "filter": node}, headers=workspace.headers
        )
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"][0]["field"].startswith("filter.conditions[0]")
    long_where = {"entity": "contact", "where": "email = 'a' OR " * 1500 + "email exists"}
    error = assert_error(
        await client.post(f"{API}/query", json=long_where, headers=workspace.headers),
        422,
        "VALIDATION_FAILED",
    )
    assert error["details"][0]["field"] == "where"
    raw = {
        "nul": b'{"entity": "contact", "where": "email = \'a\\u0000\'"}',
        "surrogate": b'{"entity": "contact", "where": "email = \'\\ud800\'"}',
        "infinite": b'{"entity": "contact", "filter": {"conditions": '
        b'[{"field": "mrr", "operator": "gt", "value": 1e400}]}}',
    }
    for name, body in raw.items():
        response = await client.post(
            f"{API}/query",
            content=body,
            headers={**workspace.headers, "Content-Type": "application/json"},
        )
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"], name
    assert await snapshot(database) == before


async def test_where_on_list_routes_refuses_like_post_query(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seed(client, workspace)
    for path in ("/contacts", "/companies", "/leads"):
        for where, status, code in (
            ("name ===", 400, "INVALID_QUERY"),
            ("nope = 1", 400, "INVALID_QUERY"),
            ("   ", 400, "INVALID_QUERY"),
            ("name = 'a\x00'", 400, "INVALID_REQUEST"),
            ("x" * 20001, 400, "INVALID_REQUEST"),
            ("(" * 65 + "name exists" + ")" * 65, 400, "INVALID_QUERY"),
        ):
            response = await client.get(
                f"{API}{path}", params={"where": where}, headers=workspace.headers
            )
            error = assert_error(response, status, code)
            if code == "INVALID_QUERY":
                assert error["details"][0]["field"] == "where"


async def test_other_workspaces_ids_match_nothing(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = await post(client, workspace, "/contacts", {"email": "me@example.com"})
    theirs = await post(client, other_workspace, "/contacts", {"email": "them@example.com"})
    their_id = theirs["data"]["id"]
    their_tag = await post(client, other_workspace, "/tags", {"key": "vip", "name": "VIP"})
    await post(
        client, other_workspace, f"/contacts/{their_id}/tags", {"tagId": their_tag["data"]["id"]}
    )
    their_list = await post(
        client,
        other_workspace,
        "/lists",
        {"name": "Theirs", "isDynamic": True, "filterCriteria": "email exists"},
    )
    assert their_list["data"]["memberCount"] == 1
    for where in (
        f"list = {their_list['data']['id']}",
        f"company.list = {their_list['data']['id']}",
        f"tag = {their_tag['data']['id']}",
        "tag = vip",
        f"id = {their_id}",
    ):
        answer = await post(client, workspace, "/query", {"entity": "contact", "where": where})
        assert answer["data"] == [], where
    everyone = await post(client, workspace, "/query", {"entity": "contact"})
    assert [row["id"] for row in everyone["data"]] == [mine["data"]["id"]]


async def test_the_last_day_of_the_calendar_is_not_a_500(
    lenient: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seed(lenient, workspace)
    for where in (
        "createdAt on 9999-12-31",
        "createdAt after 9999-12-31",
        "createdAt on 9999-12-31T23:59:59",
        "seen on 9999-12-31",
        "lead.closedAt after 9999-12-31",
    ):
        response = await lenient.post(
            f"{API}/query", json={"entity": "contact", "where": where}, headers=workspace.headers
        )
        assert response.status_code in (200, 400), (where, response.status_code)
        check = await lenient.post(
            f"{API}/query/validate",
            json={"entity": "contact", "where": where},
            headers=workspace.headers,
        )
        assert check.status_code == 200, (where, check.status_code)


async def test_a_large_number_against_a_count_is_not_a_500(
    lenient: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    request: pytest.FixtureRequest,
) -> None:
    await seed(lenient, workspace)
    for where in ("activityCount > 3000000000", "lead.probability < 3000000000"):
        response = await lenient.post(
            f"{API}/query", json={"entity": "contact", "where": where}, headers=workspace.headers
        )
        assert response.status_code in (200, 400), (where, response.status_code)


async def test_many_listed_values_within_the_cost_ceiling_are_not_a_500(
    lenient: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    request: pytest.FixtureRequest,
) -> None:
    await seed(lenient, workspace)
    values = [str(i) for i in range(1000)]
    body = filtered(*[condition("email", "in", values) for _ in range(33)], logic="OR")
    response = await lenient.post(f"{API}/query", json=body, headers=workspace.headers)
    assert response.status_code in (200, 400), response.status_code


async def test_a_raised_cost_ceiling_never_turns_into_a_500(
    lenient: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    request: pytest.FixtureRequest,
) -> None:
    await seed(lenient, workspace)
    raised = await lenient.patch(
        f"{API}/workspace",
        json={"settings": {"queryCostLimit": 5000}},
        headers=workspace.headers,
    )
    assert raised.status_code == 200, raised.text
    body = filtered(*[condition("email", "eq", f"x{i}") for i in range(1000)], logic="OR")
    response = await lenient.post(f"{API}/query", json=body, headers=workspace.headers)
    assert response.status_code in (200, 400), response.status_code


async def test_a_query_the_cost_ceiling_admits_answers_quickly(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    request: pytest.FixtureRequest,
) -> None:
    item = condition("company.tag", "containsAll", ["a", "b"])
    started = time.perf_counter()
    answer = await post(client, workspace, "/query", filtered(*[item] * 30))
    assert answer["meta"]["estimatedCost"] == 300
    elapsed = time.perf_counter() - started
    assert elapsed < (2 * QUICK if database.dialect == "postgresql" else 5 * QUICK), elapsed


async def test_a_cost_refusal_names_the_member_the_query_came_in(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    heavy = filtered(*[condition("activityCount", "gt", n) for n in range(101)])
    error = assert_error(
        await client.post(f"{API}/query", json=heavy, headers=workspace.headers),
        400,
        "INVALID_QUERY",
    )
    assert "queryCostLimit" in error["message"]
    assert error["details"][0]["field"] == "filter"


async def test_a_span_ago_is_held_to_the_same_range_in_text_and_json(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    as_json = filtered(condition("createdAt", "before", "200000 days ago"))
    assert_error(
        await client.post(f"{API}/query", json=as_json, headers=workspace.headers),
        400,
        "INVALID_QUERY",
    )
    as_text = {"entity": "contact", "where": "createdAt before 200000 days ago"}
    assert_error(
        await client.post(f"{API}/query", json=as_text, headers=workspace.headers),
        400,
        "INVALID_QUERY",
    )


async def test_a_date_with_trailing_text_is_refused(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seed(client, workspace)
    for value in ("2026-01-31xyz", "2026-01-31 or anything"):
        response = await client.post(
            f"{API}/query",
            json=filtered(condition("born", "eq", value)),
            headers=workspace.headers,
        )
        detail = assert_error(response, 400, "INVALID_QUERY")["details"][0]
        assert detail["field"] == "filter.conditions[0].value"
