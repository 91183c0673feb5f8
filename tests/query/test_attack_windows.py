"""Attacks on windowed counts in the query language (`emailsOpened > 3 within last 90 days`,
JSON `"within"`): hostile windows and values are a 400 naming the problem, never a 500, and
what matches is what the rows say, under NOT and OR too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import CampaignMessage
from tests.campaigns.conftest import API, call, http, worker
from tests.campaigns.test_tracking import links_of, local, pixel_of, sent
from tests.helpers import EVERY_WORKSPACE, Workspace, assert_error, snapshot

__all__ = ["http", "sent", "worker"]

pytestmark = pytest.mark.usefixtures("app")


async def query(http: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]) -> httpx.Response:
    return await http.post(f"{API}/query", json={"entity": "contact", **body}, headers=ws.headers)


@pytest.mark.parametrize(
    "where",
    [
        "emailsOpened > 3 within last 99999999 years",
        "emailsOpened > 3 within last 999999999 days",
        "emailsOpened > 3 within last 999999999 hours",
        "emailsOpened > 3 within last 999999999 weeks",
        "emailsOpened > 3 within last 999999999 months",
        "emailsOpened > 3 within last 2026 years",
        "emailsOpened > 3 within last 9999999999 days",
        "emailsOpened > 3 within last 0 days",
        "emailsOpened > 3 within last -1 days",
        "emailsOpened > 3 within last 1.5 days",
        "emailsOpened > 3 within last 3 fortnights",
        "emailsOpened > 99999999999999999999 within last 3 days",
        "emailsOpened > 1e400 within last 3 days",
        "emailsOpened > 'x' within last 3 days",
        "emailsOpened > null within last 3 days",
        "emailsOpened > true within last 3 days",
        "emailsOpened between 3 and 'x' within last 3 days",
        "emailsOpened in (1, 2) within last 3 days",
        "email = 'a@example.com' within last 9 days",
        "givenName contains 'a' within last 9 days",
        "createdAt > '2020-01-01' within last 9 days",
        "createdAt within last 9 days within last 9 days",
        "tags = 'x' within last 9 days",
        "campaignSent exists within last 9 days",
        "emailStatus = subscribed within last 9 days",
        "emailsOpened > 3 within last 9 days within last 9 days",
        "emailsOpened exists within last 9 days",
        "has activity CALL within last 9 days within last 9 days",
        "NOT (emailsOpened > 3 OR email = 'x' within last 3 days)",
    ],
)
async def test_hostile_windows_in_text_are_400(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, where: str
) -> None:
    before = await snapshot(database)
    response = await query(http, workspace, {"where": where})
    assert_error(response, 400, "INVALID_QUERY")
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    "within",
    [
        5,
        5.5,
        True,
        "",
        [],
        ["30 days"],
        {},
        {"amount": 30},
        {"amount": 30, "unit": 5},
        {"amount": "30", "unit": "days"},
        {"amount": True, "unit": "days"},
        {"amount": 1e308, "unit": "days"},
        {"amount": 10**40, "unit": "days"},
        {"amount": -3, "unit": "days"},
        "30 parsecs",
        "-30 days",
        "30 days ago",
        "9" * 5000 + " days",
        "3\x00 days",
    ],
)
async def test_json_within_of_wrong_types_is_400_naming_it(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, within: Any
) -> None:
    before = await snapshot(database)
    body = {
        "filter": {
            "logic": "OR",
            "conditions": [
                {"field": "email", "operator": "exists"},
                {
                    "type": "group",
                    "negate": True,
                    "conditions": [
                        {"field": "emailsOpened", "operator": "gt", "value": 0, "within": within}
                    ],
                },
            ],
        }
    }
    response = await query(http, workspace, body)
    # The body's own guards (integers past 64 bits, NUL characters) answer 422 before the
    # query is read; anything else is the query's 400.
    if response.status_code == 422:
        error = assert_error(response, 422, "VALIDATION_FAILED")
    else:
        error = assert_error(response, 400, "INVALID_QUERY")
    assert "filter.conditions[1].conditions[0].within" in str(error), error
    assert await snapshot(database) == before


@pytest.mark.parametrize("unit", ["years", "months"])
async def test_a_json_window_before_year_one_names_within(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, unit: str
) -> None:
    before = await snapshot(database)
    condition = {
        "field": "emailsOpened",
        "operator": "gt",
        "value": 0,
        "within": {"amount": 100000, "unit": unit},
    }
    response = await query(http, workspace, {"filter": {"conditions": [condition]}})
    error = assert_error(response, 400, "INVALID_QUERY")
    assert await snapshot(database) == before
    assert error["details"][0]["field"] == "filter.conditions[0].within", error


@pytest.mark.parametrize(
    ("field", "operator", "value"),
    [
        ("email", "eq", "a@example.com"),
        ("createdAt", "withinLast", "3 days"),
        ("givenName", "contains", "a"),
        ("campaignOpened", "exists", None),
        ("emailStatus", "in", ["subscribed"]),
        ("list", "in", ["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"]),
        ("properties.plan", "eq", "x"),
        ("company.name", "eq", "x"),
        ("nope", "eq", "x"),
    ],
)
async def test_json_within_on_what_is_not_a_count_is_400(
    http: httpx.AsyncClient, workspace: Workspace, field: str, operator: str, value: Any
) -> None:
    condition = {"field": field, "operator": operator, "within": "9 days"}
    if value is not None:
        condition["value"] = value
    response = await query(http, workspace, {"filter": {"conditions": [condition]}})
    error = assert_error(response, 400, "INVALID_QUERY")
    assert "filter.conditions[0]" in str(error), error


async def test_windowed_counts_match_the_rows_under_not_and_or(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, sent: dict[str, Any]
) -> None:
    # Ada opened long ago; Bob opened and clicked now; Cy opened now; Dee got nothing.
    for name in ("ada", "bob", "cy"):
        await http.get(local(pixel_of(sent["messages"][f"{name}@example.com"])))
    await http.get(local(links_of(sent["messages"]["bob@example.com"])[0]))
    await call(http, workspace, "POST", "/contacts", {"email": "dee@example.com"}, 201)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.email == "ada@example.com")
            .values(opened_at=utcnow() - timedelta(days=120))
        )
    opened_recent = {"ada": 0, "bob": 1, "cy": 1, "dee": 0}
    opened_ever = {"ada": 1, "bob": 1, "cy": 1, "dee": 0}
    clicked = {"ada": 0, "bob": 1, "cy": 0, "dee": 0}
    sent_count = {"ada": 1, "bob": 1, "cy": 1, "dee": 0}
    people = sorted(opened_ever)

    async def emails(where: str) -> list[str]:
        found = await call(http, workspace, "POST", "/query", {"entity": "contact", "where": where})
        return sorted(c["email"].split("@")[0] for c in found)

    cases = {
        "emailsOpened < 1 within last 90 days": [p for p in people if opened_recent[p] < 1],
        "NOT emailsOpened < 1 within last 90 days": [p for p in people if opened_recent[p] >= 1],
        "NOT emailsOpened >= 1 within last 90 days": [p for p in people if opened_recent[p] < 1],
        "emailsOpened != 1 within last 90 days": [p for p in people if opened_recent[p] != 1],
        "NOT emailsOpened in (1)": [p for p in people if opened_ever[p] != 1],
        "emailsOpened between 0 and 0 within last 90 days": [
            p for p in people if opened_recent[p] == 0
        ],
        "emailsOpened = 0 within last 90 days OR emailsClicked > 0": [
            p for p in people if opened_recent[p] == 0 or clicked[p] > 0
        ],
        "NOT (emailsOpened = 0 within last 90 days OR emailsClicked > 0 within last 1 hours)": [
            p for p in people if not (opened_recent[p] == 0 or clicked[p] > 0)
        ],
        "emailsSent = 1 AND NOT emailsOpened > 0 within last 90 days": [
            p for p in people if sent_count[p] == 1 and opened_recent[p] == 0
        ],
        "emailsOpened <= 0.5 within last 100000 minutes": [
            p for p in people if opened_recent[p] <= 0.5
        ],
        "emailsOpened > -1 within last 2025 years": people,
        "emailsOpened > 2147483648 within last 9 days": [],
        "emailsOpened < 2147483648 within last 9 days": people,
    }
    for where, expected in cases.items():
        assert await emails(where) == expected, where
    as_json = {
        "entity": "contact",
        "filter": {
            "logic": "OR",
            "negate": True,
            "conditions": [
                {"field": "emailsOpened", "operator": "lt", "value": 1, "within": "90 days"},
                {
                    "field": "emailsClicked",
                    "operator": "gte",
                    "value": 1,
                    "within": {"amount": 1, "unit": "days"},
                },
            ],
        },
    }
    found = await call(http, workspace, "POST", "/query", as_json)
    assert sorted(c["email"].split("@")[0] for c in found) == ["cy"]


@pytest.mark.parametrize(
    ("field", "operator"), [("emailsOpened", "exists"), ("activityCount", "isEmpty")]
)
async def test_a_window_on_exists_or_is_empty_is_refused(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, field: str, operator: str
) -> None:
    before = await snapshot(database)
    condition = {"field": field, "operator": operator, "within": "9 days"}
    response = await query(http, workspace, {"filter": {"conditions": [condition]}})
    error = assert_error(response, 400, "INVALID_QUERY")
    assert error["details"][0]["field"] == "filter.conditions[0].within", error
    assert await snapshot(database) == before
