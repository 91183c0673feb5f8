"""Leads: creation in a stage with exact money, updates with ETags, stage moves and their
history, the timeline, activities on a lead, filters, and what happens to leads when their
contact or company goes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import (
    Workspace,
    add_key,
    add_member,
    assert_error,
    events_of_type,
    key_of_user,
    snapshot,
)
from tests.sales.conftest import API, body_of, create_lead, stage_by_key

pytestmark = pytest.mark.usefixtures("app")


async def contact(client: httpx.AsyncClient, ws: Workspace, email: str = "ada@example.com") -> str:
    response = await client.post(f"{API}/contacts", json={"email": email}, headers=ws.headers)
    return str(body_of(response, 201)["id"])


async def company(client: httpx.AsyncClient, ws: Workspace, name: str = "Acme") -> str:
    response = await client.post(f"{API}/companies", json={"name": name}, headers=ws.headers)
    return str(body_of(response, 201)["id"])


async def get(client: httpx.AsyncClient, ws: Workspace, lead_id: str) -> dict[str, Any]:
    return body_of(await client.get(f"{API}/leads/{lead_id}", headers=ws.headers))  # type: ignore[no-any-return]


async def test_a_lead_starts_in_the_first_open_stage_of_the_default_pipeline(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        f"{API}/leads",
        json={"title": "  Acme: 40 seats  ", "value": "12500.5", "currency": "usd"},
        headers=workspace.headers,
    )

    lead = body_of(response, 201)
    assert response.headers["Location"] == f"/api/v1/leads/{lead['id']}"
    assert response.headers["ETag"]
    assert lead["title"] == "Acme: 40 seats"
    assert (lead["value"], lead["currency"]) == ("12500.50", "USD")
    assert lead["stage"]["systemKey"] == "new"
    assert lead["status"] == "open"
    assert (lead["probability"], lead["probabilityIsDefault"], lead["weightedValue"]) == (
        10,
        True,
        "1250.05",
    )
    assert lead["closedAt"] is None
    [event] = await events_of_type(client, workspace, "lead.created")
    assert event["data"]["record"]["value"] == "12500.50"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1500", "JPY", "1500"),
        ("12.345", "BHD", "12.345"),
        ("0", "EUR", "0.00"),
        ("999999999999999.99", "USD", "999999999999999.99"),
    ],
)
async def test_money_keeps_the_currency_s_decimals(
    client: httpx.AsyncClient, workspace: Workspace, amount: str, currency: str, shown: str
) -> None:
    lead = await create_lead(client, workspace, value=amount, currency=currency)
    assert lead["value"] == shown


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "10"}, "currency"),
        ({"value": "10", "currency": "ZZZ"}, "currency"),
        ({"value": "-5", "currency": "USD"}, "value"),
        ({"value": "1.234", "currency": "USD"}, "value"),
        ({"value": "1.5", "currency": "JPY"}, "value"),
        ({"value": "1e5", "currency": "USD"}, "value"),
        ({"value": "١٢٣", "currency": "USD"}, "value"),
        ({"value": "\uff11\uff12", "currency": "USD"}, "value"),
        ({"expectedCloseDate": 0}, "expectedCloseDate"),
        ({"expectedCloseDate": "1699920000"}, "expectedCloseDate"),
        ({"value": 10.5, "currency": "USD"}, "value"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"title": "   "}, "title"),
        ({"stageId": str(uuid.uuid4())}, "stageId"),
        ({"pipelineId": str(uuid.uuid4())}, "pipelineId"),
        ({"contactId": str(uuid.uuid4())}, "contactId"),
        ({"companyId": str(uuid.uuid4())}, "companyId"),
        ({"ownerUserId": str(uuid.uuid4())}, "ownerUserId"),
        ({"lostReason": "Too pricey"}, "lostReason"),
        ({"expectedCloseDate": "next week"}, "expectedCloseDate"),
    ],
)
async def test_a_bad_lead_is_refused_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, body: dict, field: str
) -> None:
    before = await snapshot(database)
    response = await client.post(
        f"{API}/leads", json={"title": "Acme", **body}, headers=workspace.headers
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in {d["field"] for d in error["details"]}, error
    assert await snapshot(database) == before


async def test_a_stage_of_another_pipeline_than_the_one_named_is_refused(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    other = body_of(
        await client.post(f"{API}/pipelines", json={"name": "Partners"}, headers=workspace.headers),
        201,
    )
    qualified = await stage_by_key(client, workspace, "qualified")
    before = await snapshot(database)
    response = await client.post(
        f"{API}/leads",
        json={"title": "X", "pipelineId": other["id"], "stageId": qualified["id"]},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "stageId"
    assert await snapshot(database) == before


async def test_a_lead_created_in_a_won_stage_is_closed(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    won = await stage_by_key(client, workspace, "won")
    lead = await create_lead(client, workspace, stageId=won["id"])
    assert lead["status"] == "won"
    assert lead["closedAt"] is not None


async def test_moving_a_lead_records_the_move_and_sets_or_clears_closed_at(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    lost = await stage_by_key(client, workspace, "lost")
    proposal = await stage_by_key(client, workspace, "proposal")

    lost_move = body_of(
        await client.patch(
            f"{API}/leads/{lead['id']}/stage",
            json={"stageId": lost["id"], "lostReason": "Chose a competitor"},
            headers=workspace.headers,
        )
    )
    assert (lost_move["status"], lost_move["lostReason"]) == ("lost", "Chose a competitor")
    assert lost_move["closedAt"] is not None

    reopened = body_of(
        await client.patch(
            f"{API}/leads/{lead['id']}/stage",
            json={"stageId": proposal["id"]},
            headers=workspace.headers,
        )
    )
    assert (reopened["status"], reopened["closedAt"], reopened["lostReason"]) == (
        "open",
        None,
        None,
    )

    history = body_of(
        await client.get(f"{API}/leads/{lead['id']}/stage-history", headers=workspace.headers)
    )
    assert [(h["fromStageName"], h["toStageName"], h["toKind"]) for h in history] == [
        (None, "New", "open"),
        ("New", "Lost", "lost"),
        ("Lost", "Proposal", "open"),
    ]
    assert history[1]["lostReason"] == "Chose a competitor"
    assert history[0]["secondsInFromStage"] is None
    assert history[1]["secondsInFromStage"] >= 0
    assert history[1]["actorType"] == "api_key"
    moves = await events_of_type(client, workspace, "lead.stage_changed")
    assert [m["data"]["toStage"]["name"] for m in moves] == ["Proposal", "Lost"]
    assert moves[1]["data"]["lostReasonGiven"] is True


async def test_a_lost_move_without_a_reason_is_recorded_as_such(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    lost = await stage_by_key(client, workspace, "lost")
    moved = body_of(
        await client.patch(
            f"{API}/leads/{lead['id']}/stage",
            json={"stageId": lost["id"]},
            headers=workspace.headers,
        )
    )
    assert moved["lostReason"] is None
    assert moved["status"] == "lost"
    [event] = await events_of_type(client, workspace, "lead.stage_changed")
    assert event["data"]["lostReasonGiven"] is False


async def test_a_lost_reason_on_an_open_stage_is_refused(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    proposal = await stage_by_key(client, workspace, "proposal")
    before = await snapshot(database)
    for stage_id in (proposal["id"], str(uuid.uuid4())):
        response = await client.patch(
            f"{API}/leads/{lead['id']}/stage",
            json={"stageId": stage_id, "lostReason": "Budget"},
            headers=workspace.headers,
        )
        assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_a_move_to_another_pipeline_takes_the_lead_there(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    other = body_of(
        await client.post(f"{API}/pipelines", json={"name": "Partners"}, headers=workspace.headers),
        201,
    )
    lead = await create_lead(client, workspace)
    target = other["stages"][1]
    moved = body_of(
        await client.patch(
            f"{API}/leads/{lead['id']}/stage",
            json={"stageId": target["id"]},
            headers=workspace.headers,
        )
    )
    assert (moved["pipelineId"], moved["stageId"]) == (other["id"], target["id"])


async def test_update_with_etags_and_changes_in_the_event(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    created = await client.post(
        f"{API}/leads",
        json={"title": "Acme", "value": "100", "currency": "EUR"},
        headers=workspace.headers,
    )
    lead, etag = body_of(created, 201), created.headers["ETag"]

    response = await client.patch(
        f"{API}/leads/{lead['id']}",
        json={"value": "250.5", "probability": 40, "source": "Referral"},
        headers={**workspace.headers, "If-Match": etag},
    )

    updated = body_of(response)
    assert (updated["value"], updated["currency"], updated["probability"]) == ("250.50", "EUR", 40)
    assert updated["probabilityIsDefault"] is False
    assert updated["weightedValue"] == "100.20"
    assert response.headers["ETag"] != etag
    [event] = await events_of_type(client, workspace, "lead.updated")
    assert event["data"]["changes"]["value"] == {"before": "100.00", "after": "250.50"}

    before = await snapshot(database)
    stale = await client.patch(
        f"{API}/leads/{lead['id']}",
        json={"title": "Stale"},
        headers={**workspace.headers, "If-Match": etag},
    )
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert await snapshot(database) == before
    not_modified = await client.get(
        f"{API}/leads/{lead['id']}",
        headers={**workspace.headers, "If-None-Match": response.headers["ETag"]},
    )
    assert not_modified.status_code == 304


async def test_a_lead_without_change_emits_nothing(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace, source="Web")
    response = await client.patch(
        f"{API}/leads/{lead['id']}", json={"source": "Web"}, headers=workspace.headers
    )
    assert response.status_code == 200
    assert await events_of_type(client, workspace, "lead.updated") == []


async def test_custom_lead_properties_are_checked_against_their_definitions(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    definition = await client.post(
        f"{API}/properties",
        json={"key": "seats", "label": "Seats", "type": "NUMBER", "entity": "LEAD"},
        headers=workspace.headers,
    )
    assert definition.status_code == 201, definition.text
    lead = await create_lead(client, workspace, properties={"seats": 40})
    assert lead["properties"] == {"seats": 40}
    before = await snapshot(database)
    bad = await client.patch(
        f"{API}/leads/{lead['id']}",
        json={"properties": {"seats": "many"}},
        headers=workspace.headers,
    )
    error = assert_error(bad, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "properties.seats"
    assert await snapshot(database) == before


async def test_list_filters(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    owner = await add_member(database, workspace, "rep@example.com")
    me_headers = await key_of_user(database, workspace, owner)
    ada = await contact(client, workspace)
    acme = await company(client, workspace)
    qualified = await stage_by_key(client, workspace, "qualified")
    won = await stage_by_key(client, workspace, "won")
    a = await create_lead(
        client,
        workspace,
        title="A",
        contactId=ada,
        value="100",
        currency="USD",
        expectedCloseDate="2026-12-01",
    )
    b = await create_lead(
        client,
        workspace,
        title="B",
        companyId=acme,
        stageId=qualified["id"],
        value="900",
        currency="USD",
        ownerUserId=str(owner),
    )
    await create_lead(
        client,
        workspace,
        title="C",
        stageId=won["id"],
        value="500",
        currency="EUR",
        expectedCloseDate="2027-01-15",
    )

    async def titles(**params: Any) -> list[str]:
        response = await client.get(
            f"{API}/leads",
            params={"sortBy": "title", "sortOrder": "asc", **params},
            headers=workspace.headers,
        )
        return [lead["title"] for lead in body_of(response)]

    assert await titles(contactId=ada) == ["A"]
    assert await titles(companyId=acme) == ["B"]
    assert await titles(stageId=qualified["id"]) == ["B"]
    assert await titles(stage="Qualified") == ["B"]
    assert await titles(stage="won") == ["C"]
    assert await titles(stage="no such stage") == []
    assert await titles(status=["open"]) == ["A", "B"]
    assert await titles(status=["won", "open"]) == ["A", "B", "C"]
    assert await titles(ownerUserId="unassigned") == ["A", "C"]
    assert await titles(ownerUserId=str(owner)) == ["B"]
    assert await titles(currency="USD", valueMin="100.01") == ["B"]
    assert await titles(currency="usd", valueMax="100") == ["A"]
    assert await titles(closeFrom="2026-12-02") == ["C"]
    assert await titles(closeTo="2026-12-31") == ["A"]
    assert await titles(q="b") == ["B"]
    mine = await client.get(f"{API}/leads", params={"ownerUserId": "me"}, headers=me_headers)
    assert [lead["id"] for lead in body_of(mine)] == [b["id"]]
    by_value = await client.get(
        f"{API}/leads", params={"sort": "value:desc", "currency": "USD"}, headers=workspace.headers
    )
    assert [lead["id"] for lead in body_of(by_value)] == [b["id"], a["id"]]
    page = await client.get(
        f"{API}/leads", params={"page": 1, "limit": 2}, headers=workspace.headers
    )
    assert page.json()["meta"]["total"] == 3
    assert len(body_of(page)) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"valueMin": "10"}, "currency"),
        ({"sortBy": "value"}, "currency"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "USD", "valueMin": "-1"}, "valueMin"),
        ({"currency": "USD", "valueMax": "abc"}, "valueMax"),
        ({"status": "maybe"}, "status"),
        ({"sortBy": "colour"}, "sortBy"),
        ({"ownerUserId": "someone"}, "ownerUserId"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_list_queries_are_400_naming_the_parameter(
    client: httpx.AsyncClient, workspace: Workspace, params: dict, field: str
) -> None:
    response = await client.get(f"{API}/leads", params=params, headers=workspace.headers)
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert field in str(error), error


async def test_activities_on_a_lead_show_on_the_lead_contact_and_company_timelines(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await contact(client, workspace)
    acme = await company(client, workspace)
    lead = await create_lead(client, workspace, contactId=ada, companyId=acme)

    logged = body_of(
        await client.post(
            f"{API}/leads/{lead['id']}/activities",
            json={"type": "call", "subject": "Discovery call", "body": "120 trucks"},
            headers=workspace.headers,
        ),
        201,
    )
    assert (logged["type"], logged["leadId"], logged["contactId"], logged["companyId"]) == (
        "CALL",
        lead["id"],
        ada,
        acme,
    )
    alone = body_of(
        await client.post(
            f"{API}/activities",
            json={"type": "MEETING", "subject": "Demo", "leadId": lead["id"]},
            headers=workspace.headers,
        ),
        201,
    )
    assert (alone["contactId"], alone["companyId"]) == (ada, acme)

    timeline = body_of(
        await client.get(f"{API}/leads/{lead['id']}/timeline", headers=workspace.headers)
    )
    kinds = [
        (item["kind"], (item["activity"] or {}).get("subject") or item["event"]["type"])
        for item in timeline
    ]
    assert ("activity", "Discovery call") in kinds
    assert ("activity", "Demo") in kinds
    assert ("event", "lead.created") in kinds
    contact_timeline = body_of(
        await client.get(f"{API}/contacts/{ada}/timeline", headers=workspace.headers)
    )
    assert {"Discovery call", "Demo"} <= {
        item["activity"]["subject"] for item in contact_timeline if item["kind"] == "activity"
    }
    company_activities = body_of(
        await client.get(f"{API}/activities", params={"companyId": acme}, headers=workspace.headers)
    )
    assert {a["subject"] for a in company_activities} == {"Discovery call", "Demo"}
    of_lead = body_of(
        await client.get(
            f"{API}/activities", params={"leadId": lead["id"]}, headers=workspace.headers
        )
    )
    assert {a["subject"] for a in of_lead} == {"Discovery call", "Demo"}


async def test_lead_activity_refusals_change_nothing(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    foreign = await create_lead(client, other_workspace)
    before = await snapshot(database)
    page_view = await client.post(
        f"{API}/leads/{lead['id']}/activities",
        json={"type": "PAGE_VIEW"},
        headers=workspace.headers,
    )
    assert_error(page_view, 422, "VALIDATION_FAILED")
    unknown = await client.post(
        f"{API}/activities",
        json={"type": "CALL", "leadId": foreign["id"]},
        headers=workspace.headers,
    )
    error = assert_error(unknown, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "leadId"
    other_lead = await client.post(
        f"{API}/leads/{foreign['id']}/activities", json={"type": "CALL"}, headers=workspace.headers
    )
    assert_error(other_lead, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_deleting_the_contact_or_company_keeps_the_lead_and_says_so(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ada = await contact(client, workspace)
    acme = await company(client, workspace)
    lead = await create_lead(client, workspace, contactId=ada, companyId=acme)

    assert (
        await client.delete(f"{API}/contacts/{ada}", headers=workspace.headers)
    ).status_code == 200
    assert (
        await client.delete(f"{API}/companies/{acme}", headers=workspace.headers)
    ).status_code == 204

    kept = await get(client, workspace, lead["id"])
    assert (kept["contactId"], kept["companyId"]) == (None, None)
    changes = [
        e["data"]["changes"] for e in await events_of_type(client, workspace, "lead.updated")
    ]
    assert {"contactId": {"before": ada, "after": None}}.items() <= changes[1].items()
    assert {"companyId": {"before": acme, "after": None}}.items() <= changes[0].items()
    timeline = body_of(
        await client.get(f"{API}/leads/{lead['id']}/timeline", headers=workspace.headers)
    )
    assert [i["event"]["type"] for i in timeline if i["kind"] == "event"].count("lead.updated") == 2


async def test_merging_contacts_moves_their_leads(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    winner = await contact(client, workspace, "ada@example.com")
    loser = await contact(client, workspace, "ada.l@example.com")
    lead = await create_lead(client, workspace, contactId=loser)

    merged = await client.post(
        f"{API}/contacts/{winner}/merge", json={"loserId": loser}, headers=workspace.headers
    )

    assert merged.status_code == 200, merged.text
    assert (await get(client, workspace, lead["id"]))["contactId"] == winner
    listed = body_of(
        await client.get(f"{API}/leads", params={"contactId": winner}, headers=workspace.headers)
    )
    assert [row["id"] for row in listed] == [lead["id"]]


async def test_deleting_a_lead(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    await client.post(
        f"{API}/leads/{lead['id']}/activities",
        json={"type": "NOTE", "body": "Keep"},
        headers=workspace.headers,
    )

    response = await client.delete(f"{API}/leads/{lead['id']}", headers=workspace.headers)

    assert response.status_code == 204
    assert_error(
        await client.get(f"{API}/leads/{lead['id']}", headers=workspace.headers), 404, "NOT_FOUND"
    )
    [event] = await events_of_type(client, workspace, "lead.deleted")
    assert event["data"]["record"]["title"] == lead["title"]
    [note] = body_of(await client.get(f"{API}/activities", headers=workspace.headers))
    assert note["leadId"] is None


async def test_leads_need_their_scopes_and_stay_in_their_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    assert_error(
        await client.post(f"{API}/leads", json={"title": "X"}, headers=reader), 403, "FORBIDDEN"
    )
    assert_error(
        await client.patch(f"{API}/leads/{lead['id']}", json={"title": "X"}, headers=reader),
        403,
        "FORBIDDEN",
    )
    for method, path, body in (
        ("GET", f"/leads/{lead['id']}", None),
        ("PATCH", f"/leads/{lead['id']}", {"title": "Hijacked"}),
        ("PATCH", f"/leads/{lead['id']}/stage", {"stageId": lead["stageId"]}),
        ("DELETE", f"/leads/{lead['id']}", None),
        ("GET", f"/leads/{lead['id']}/timeline", None),
    ):
        response = await client.request(
            method, f"{API}{path}", json=body, headers=other_workspace.headers
        )
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before
    listed = body_of(await client.get(f"{API}/leads", headers=other_workspace.headers))
    assert listed == []


async def test_a_new_lost_reason_on_a_lost_lead_records_no_move(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    lost = await stage_by_key(client, workspace, "lost")
    lead = await create_lead(client, workspace, stageId=lost["id"], lostReason="Budget")

    response = await client.patch(
        f"{API}/leads/{lead['id']}/stage",
        json={"stageId": lost["id"], "lostReason": "Chose a competitor"},
        headers=workspace.headers,
    )

    moved = body_of(response)
    assert moved["lostReason"] == "Chose a competitor"
    assert moved["stageEnteredAt"] == lead["stageEnteredAt"]
    history = body_of(
        await client.get(f"{API}/leads/{lead['id']}/stage-history", headers=workspace.headers)
    )
    assert len(history) == 1
    assert await events_of_type(client, workspace, "lead.stage_changed") == []


async def test_a_move_with_a_stale_etag_is_refused(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    lead = await create_lead(client, workspace)
    qualified = await stage_by_key(client, workspace, "qualified")
    before = await snapshot(database)

    response = await client.patch(
        f"{API}/leads/{lead['id']}/stage",
        json={"stageId": qualified["id"]},
        headers={**workspace.headers, "If-Match": '"stale.1"'},
    )

    assert_error(response, 412, "PRECONDITION_FAILED")
    assert await snapshot(database) == before
