"""POST /query and its spellings: text and JSON give the same rows, through every relation."""

from __future__ import annotations

from typing import Any

import httpx

from rapport.kit.db import Database
from tests.helpers import Workspace, assert_error, snapshot

API = "/api/v1"


async def post(client: httpx.AsyncClient, ws: Workspace, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


async def query_ids(
    client: httpx.AsyncClient, ws: Workspace, entity: str = "contact", **body: Any
) -> set[str]:
    answer = await post(client, ws, "/query", {"entity": entity, "limit": 100, **body})
    assert answer["meta"]["total"] == len(answer["data"])
    return {row["id"] for row in answer["data"]}


async def contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> str:
    return str((await post(client, ws, "/contacts", body))["data"]["id"])


async def seed(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """Five contacts spread over the fields and relations the queries below name."""
    await post(
        client,
        ws,
        "/properties",
        {"key": "mrr", "entity": "CONTACT", "label": "MRR", "type": "NUMBER"},
    )
    await post(
        client,
        ws,
        "/properties",
        {
            "key": "plans",
            "entity": "CONTACT",
            "label": "Plans",
            "type": "MULTI_SELECT",
            "options": [{"value": v, "label": v} for v in ("basic", "pro", "team")],
        },
    )
    vip = (await post(client, ws, "/tags", {"key": "vip", "name": "VIP"}))["data"]["id"]
    acme = (await post(client, ws, "/companies", {"name": "Acme", "industry": "SaaS"}))["data"]
    ids = {
        "ann": await contact(
            client,
            ws,
            email="ann@example.com",
            lifecycleStage="CUSTOMER",
            properties={"mrr": 120, "plans": ["pro", "team"]},
        ),
        "bob": await contact(
            client, ws, email="bob@other.org", lifecycleStage="LEAD", properties={"mrr": 40}
        ),
        "cat": await contact(client, ws, name="Cat", lifecycleStage="SUBSCRIBER"),
        "dan": await contact(client, ws, email="dan@example.com", properties={"plans": ["basic"]}),
        "eve": await contact(client, ws, email="eve@example.com", status="ARCHIVED"),
    }
    await post(client, ws, f"/contacts/{ids['ann']}/tags", {"tagId": vip})
    await post(client, ws, f"/contacts/{ids['dan']}/tags", {"tagId": vip})
    await post(client, ws, f"/contacts/{ids['bob']}/companies", {"companyId": acme["id"]})
    await post(
        client, ws, f"/contacts/{ids['bob']}/activities", {"type": "CALL", "subject": "Intro"}
    )
    return ids


async def test_the_text_and_json_forms_give_the_same_rows(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ids = await seed(client, workspace)
    where = (
        "status = ACTIVE AND (email contains '@EXAMPLE.com' OR lifecycleStage in (LEAD, "
        "CUSTOMER)) AND NOT tag = vip"
    )
    as_json = {
        "logic": "AND",
        "conditions": [
            {"type": "field", "field": "status", "operator": "eq", "value": "ACTIVE"},
            {
                "type": "group",
                "logic": "OR",
                "conditions": [
                    {"field": "email", "operator": "contains", "value": "@EXAMPLE.com"},
                    {"field": "lifecycleStage", "operator": "in", "value": ["LEAD", "CUSTOMER"]},
                ],
            },
            {"field": "tag", "operator": "eq", "value": "vip", "negate": True},
        ],
    }
    expected = {ids["bob"]}
    assert await query_ids(client, workspace, where=where) == expected
    assert await query_ids(client, workspace, filter=as_json) == expected
    answer = await post(client, workspace, "/contacts/filter", {"where": where})
    assert {row["id"] for row in answer["data"]} == expected
    assert answer["meta"]["estimatedCost"] > 0
    assert answer["meta"]["queryTimeMs"] >= 0


async def test_relations_custom_properties_and_activities(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ids = await seed(client, workspace)
    cases = {
        "mrr > 100": {"ann"},
        "mrr <= 100": {"bob"},
        "mrr between 30 and 50": {"bob"},
        "mrr isEmpty": {"cat", "dan", "eve"},
        "plans = pro": {"ann"},
        "plans contains any (basic, team)": {"ann", "dan"},
        "plans contains all (pro, team)": {"ann"},
        "company.industry = SaaS": {"bob"},
        "company.name != Acme": {"ann", "cat", "dan", "eve"},
        "has activity CALL within last 14 days": {"bob"},
        "has activity MEETING": set(),
        "activityCount > 0": {"bob"},
        "activityCount < 1": {"ann", "cat", "dan", "eve"},
        "activityCount = 1 within last 2 hours": {"bob"},
        "activityCount between 0 and 0 in the last 1 days": {"ann", "cat", "dan", "eve"},
        "createdAt within last 1 days": set(ids),
        "createdAt before 1 days ago": set(),
        "tag exists": {"ann", "dan"},
        "email isEmpty": {"cat"},
        "isIdentified = false": {"cat"},
    }
    names = {value: key for key, value in ids.items()}
    for where, expected in cases.items():
        found = await query_ids(client, workspace, where=where)
        assert {names[i] for i in found} == expected, where


async def test_a_syntax_error_names_the_line_and_column(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)
    response = await client.post(
        f"{API}/query",
        json={"entity": "contact", "where": "status = ACTIVE AND\n  AND email exists"},
        headers=workspace.headers,
    )
    error = assert_error(response, 400, "INVALID_QUERY")
    detail = error["details"][0]
    assert (detail["field"], detail["line"], detail["column"]) == ("where", 2, 3)
    assert detail["expected"]
    assert await snapshot(database) == before


async def test_unknown_fields_and_misfit_operators_are_named(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seed(client, workspace)
    response = await client.post(
        f"{API}/contacts/filter",
        json={
            "filter": {
                "logic": "AND",
                "conditions": [
                    {"field": "nope", "operator": "eq", "value": 1},
                    {"field": "mrr", "operator": "contains", "value": "1"},
                    {"field": "mrr", "operator": "gt", "value": "lots"},
                ],
            }
        },
        headers=workspace.headers,
    )
    error = assert_error(response, 400, "INVALID_QUERY")
    fields = [d["field"] for d in error["details"]]
    assert fields == [
        "filter.conditions[0].field",
        "filter.conditions[1].operator",
        "filter.conditions[2].value",
    ]


async def test_injection_in_values_and_names_is_inert(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ids = await seed(client, workspace)
    before = await snapshot(database)
    hostile = "x'); DROP TABLE contacts; --"
    assert await query_ids(client, workspace, where=f'name = "{hostile}"') == set()
    assert (
        await query_ids(
            client,
            workspace,
            filter={"conditions": [{"field": "name", "operator": "contains", "value": hostile}]},
        )
        == set()
    )
    condition = {"field": "1=1; --", "operator": "eq", "value": 1}
    response = await client.post(
        f"{API}/query",
        json={"entity": "contact", "filter": {"conditions": [condition]}},
        headers=workspace.headers,
    )
    assert_error(response, 400, "INVALID_QUERY")
    assert await snapshot(database) == before
    assert len(await query_ids(client, workspace)) == len(ids)


async def test_list_routes_take_where(client: httpx.AsyncClient, workspace: Workspace) -> None:
    ids = await seed(client, workspace)
    response = await client.get(
        f"{API}/contacts",
        params={"where": "mrr > 100 OR company.industry = SaaS", "lifecycleStage": "LEAD"},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    assert [row["id"] for row in response.json()["data"]] == [ids["bob"]]
    companies = await client.get(
        f"{API}/companies", params={"where": "name startsWith 'ac'"}, headers=workspace.headers
    )
    assert [row["name"] for row in companies.json()["data"]] == ["Acme"]
    await post(
        client,
        workspace,
        "/leads",
        {"title": "Big", "contactId": ids["bob"], "value": "20000", "currency": "USD"},
    )
    await post(client, workspace, "/leads", {"title": "Small", "value": "50", "currency": "USD"})
    leads = await client.get(
        f"{API}/leads",
        params={"where": "value > 10000 AND contact.email contains 'other.org'"},
        headers=workspace.headers,
    )
    assert [row["title"] for row in leads.json()["data"]] == ["Big"]
    by_lead = await query_ids(client, workspace, where="lead.value >= 20000 AND lead.status = open")
    assert by_lead == {ids["bob"]}
    broken = await client.get(
        f"{API}/contacts", params={"where": "mrr >"}, headers=workspace.headers
    )
    detail = assert_error(broken, 400, "INVALID_QUERY")["details"][0]
    assert (detail["field"], detail["line"], detail["column"]) == ("where", 1, 6)


async def test_the_cost_ceiling_refuses_heavy_queries(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seed(client, workspace)
    heavy = " OR ".join(f"company.activityCount > {n}" for n in range(80))
    response = await client.post(
        f"{API}/query", json={"entity": "contact", "where": heavy}, headers=workspace.headers
    )
    error = assert_error(response, 400, "INVALID_QUERY")
    assert "queryCostLimit" in error["message"]
    check = await post(client, workspace, "/query/validate", {"entity": "contact", "where": heavy})
    assert check["valid"] is False
    assert check["costLimit"] == 300
    fine = await post(
        client,
        workspace,
        "/query/validate",
        {"entity": "contact", "where": "createdAt within last 3 days"},
    )
    assert (fine["valid"], fine["relativeToNow"]) == (True, True)
    response = await client.patch(
        f"{API}/workspace", json={"settings": {"queryCostLimit": 2000}}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    allowed = await post(client, workspace, "/query", {"entity": "contact", "where": heavy})
    assert allowed["meta"]["estimatedCost"] > 300


async def test_fields_list_what_can_be_queried(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    await seed(client, workspace)
    response = await client.get(
        f"{API}/fields", params={"entity": "CONTACT"}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    fields = {row["name"]: row for row in response.json()["data"]}
    assert fields["email"]["access"] == "readWrite"
    assert fields["createdAt"]["access"] == "read"
    assert fields["mrr"]["type"] == "number"
    assert fields["mrr"]["source"] == "custom"
    assert fields["plans"]["options"] == ["basic", "pro", "team"]
    assert "containsAll" in fields["plans"]["operators"]
    assert fields["company.industry"]["source"] == "relation"
    assert fields["lead.value"]["type"] == "number"
    assert fields["activity"]["operators"] == ["has"]
    assert "properties.mrr" not in fields
    leads = await client.get(f"{API}/fields", params={"entity": "lead"}, headers=workspace.headers)
    assert "contact.email" in {row["name"] for row in leads.json()["data"]}
    unknown = await client.get(
        f"{API}/fields", params={"entity": "deal"}, headers=workspace.headers
    )
    assert unknown.status_code in (400, 422)
