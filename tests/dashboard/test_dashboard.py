"""GET /dashboard on a fixed data set: every figure checked against values worked out by hand
(written as literals below), then the filters, the defaults of the period, refused requests and
workspace isolation.

The data set is laid out around `now` (the start of the test): leads are made and moved through
LeadService with the clock of their context set to the moment each move happens, and rows whose
creation time matters get it set directly. The period asked for runs from 20 days before `now`
to 10 days after it; every moment is a day or more away from its ends and from `now`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from rapport.activities.schemas import ActivityLog
from rapport.activities.service import ActivityService
from rapport.auth.service import ApiKeyService
from rapport.kit.context import Actor, Context
from rapport.kit.db import Database
from rapport.models import ActivityType, Company, Contact
from rapport.models.leads import Lead
from rapport.sales.lead_schemas import LeadCreate, StageMove
from rapport.sales.leads import LeadService
from tests.helpers import (
    EVERY_WORKSPACE,
    FREE_PROPERTIES,
    Workspace,
    add_key,
    add_member,
    assert_error,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"
DAY = timedelta(days=1)
EVERY_TYPE_ZERO = {kind.value: 0 for kind in ActivityType}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Book:
    """What the data set made: the moment it is laid out around, the caller's key, users,
    pipelines and stages by name."""

    now: datetime
    headers: dict[str, str]
    ann: uuid.UUID
    ben: uuid.UUID
    sales: str
    partners: str
    stages: dict[str, str] = field(default_factory=dict)

    def period(self, **more: str) -> dict[str, str]:
        return {"from": iso(self.now - 20 * DAY), "to": iso(self.now + 10 * DAY), **more}


class Maker:
    """Records of one workspace made through the services, at chosen moments."""

    def __init__(self, database: Database, ws: Workspace, now: datetime) -> None:
        self.database = database
        self.ws = ws
        self.now = now

    def _context(self, session: Any, at: datetime, actor: Actor) -> Context:
        return Context(session, self.ws.id, FREE_PROPERTIES, actor, lambda: at)

    async def lead(
        self,
        stage: str,
        days_ago: float,
        *moves: tuple[str, float],
        **fields: Any,
    ) -> uuid.UUID:
        """A lead created in `stage` `days_ago`, then moved to each (stage, days ago) of
        `moves`."""
        entered = self.now - days_ago * DAY
        async with self.database.transaction(workspace=self.ws.id) as session:
            context = self._context(session, entered, Actor.system())
            lead = await LeadService(context).create(
                LeadCreate(title="Deal", stage_id=uuid.UUID(stage), **fields)
            )
            lead_id = lead.id
        for target, moved_days_ago in moves:
            async with self.database.transaction(workspace=self.ws.id) as session:
                context = self._context(session, self.now - moved_days_ago * DAY, Actor.system())
                await LeadService(context).move(lead_id, StageMove(stage_id=uuid.UUID(target)))
        await self.created_at(Lead, lead_id, entered)
        return lead_id

    async def created_at(self, model: Any, record_id: uuid.UUID | str, moment: datetime) -> None:
        async with self.database.transaction(workspace=self.ws.id) as session:
            await session.execute(
                update(model).where(model.id == uuid.UUID(str(record_id))).values(created_at=moment)
            )

    async def activity(
        self, actor: Actor, kind: ActivityType, days_ago: float, contact_id: str
    ) -> None:
        async with self.database.transaction(workspace=self.ws.id) as session:
            context = self._context(session, self.now, actor)
            await ActivityService(context).log(
                ActivityLog(
                    type=kind,
                    content="Talked",
                    occurred_at=self.now - days_ago * DAY,
                    contact_id=uuid.UUID(contact_id),
                )
            )

    async def user_key(self, user_id: uuid.UUID) -> tuple[uuid.UUID, dict[str, str]]:
        async with self.database.transaction(platform=EVERY_WORKSPACE) as session:
            key, secret = await ApiKeyService(
                Context.bound(session, self.ws.id), creator_user_id=user_id
            ).create("dashboard", ["crm:read"])
        return key.id, {"Authorization": f"Bearer {secret}"}


async def body(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


async def post(client: httpx.AsyncClient, ws: Workspace, path: str, **payload: Any) -> Any:
    return await body(await client.post(API + path, json=payload, headers=ws.headers), 201)


async def stage_ids(client: httpx.AsyncClient, ws: Workspace) -> tuple[dict[str, str], str, str]:
    pipelines = await body(await client.get(f"{API}/pipelines", headers=ws.headers))
    stages = {s["name"]: s["id"] for p in pipelines for s in p["stages"]}
    by_name = {p["name"]: p["id"] for p in pipelines}
    return stages, by_name["Sales pipeline"], by_name.get("Partners", "")


@pytest.fixture
async def book(client: httpx.AsyncClient, database: Database, workspace: Workspace) -> Book:
    now = datetime.now(UTC).replace(microsecond=0)
    ann = await add_member(database, workspace, "ann@example.com")
    ben = await add_member(database, workspace, "ben@example.com")
    make = Maker(database, workspace, now)
    ann_key, ann_headers = await make.user_key(ann)
    await post(
        client,
        workspace,
        "/pipelines",
        name="Partners",
        stages=[
            {"name": "Intro", "defaultProbabilityPct": 40},
            {"name": "Signed", "kind": "won"},
            {"name": "Dropped", "kind": "lost"},
        ],
    )
    stages, sales, partners = await stage_ids(client, workspace)
    new, qualified, proposal = stages["New"], stages["Qualified"], stages["Proposal"]
    won, lost = stages["Won"], stages["Lost"]

    # Open leads. Default probabilities: New 10, Qualified 20, Proposal 50, Intro 40.
    await make.lead(new, 0, value="1000.00", currency="EUR", ownerUserId=ann)
    await make.lead(new, 0)
    await make.lead(
        new, 7, (qualified, 5.5), value="250.50", currency="usd", probability=35, ownerUserId=ben
    )
    await make.lead(qualified, 0, value="99.99", currency="EUR", ownerUserId=ann)
    await make.lead(qualified, 0, currency="USD", ownerUserId=ann)
    await make.lead(new, 16, (proposal, 6), value="12000.00", currency="USD", probability=80)
    await make.lead(stages["Intro"], 0, value="500.00", currency="EUR", ownerUserId=ann)
    # Won and lost inside the period, with the moves that got them there.
    await make.lead(
        new,
        40,
        (qualified, 30),
        (proposal, 15),
        (won, 5),
        value="3000.00",
        currency="EUR",
        ownerUserId=ann,
    )
    await make.lead(new, 12, (won, 2), ownerUserId=ben)
    await make.lead(qualified, 10.5, (won, 1), value="1500.00", currency="USD")
    await make.lead(proposal, 8, (lost, 3), value="400.00", currency="USD", ownerUserId=ann)
    await make.lead(
        stages["Intro"], 6, (stages["Dropped"], 4), value="60.00", currency="EUR", ownerUserId=ann
    )
    # Closed before the period.
    await make.lead(new, 30, (won, 25), value="777.00", currency="USD", ownerUserId=ann)
    await make.lead(new, 35, (lost, 30), value="50.00", currency="EUR")

    # Ben's user belongs to the workspace; the users have the tasks and activities.
    for name in ("Target", "Second", "Third"):
        await post(client, workspace, "/contacts", name=name)
    target = (await body(await client.get(f"{API}/contacts", headers=workspace.headers)))[0]["id"]
    deleted = await post(client, workspace, "/contacts", name="Deleted")
    await body(await client.delete(f"{API}/contacts/{deleted['id']}", headers=workspace.headers))
    merged = await post(client, workspace, "/contacts", name="Merged")
    await body(
        await client.post(
            f"{API}/contacts/{target}/merge",
            json={"loserId": merged["id"]},
            headers=workspace.headers,
        )
    )
    old = await post(client, workspace, "/contacts", name="Old")
    await make.created_at(Contact, old["id"], now - 25 * DAY)
    for name in ("Acme", "Globex"):
        await post(client, workspace, "/companies", name=name)
    old_company = await post(client, workspace, "/companies", name="Initech")
    await make.created_at(Company, old_company["id"], now - 40 * DAY)

    signed_in, through_key = Actor("user", ann), Actor("api_key", ann_key)
    for actor, kind, days_ago in (
        (signed_in, ActivityType.CALL, 1),
        (signed_in, ActivityType.CALL, 19),
        (signed_in, ActivityType.EMAIL, 3),
        (signed_in, ActivityType.NOTE, 25),
        (signed_in, ActivityType.CALL, 21),
        (through_key, ActivityType.MEETING, 2),
        (through_key, ActivityType.EMAIL, -1),
        (Actor("user", ben), ActivityType.CALL, 1),
        (Actor("api_key", workspace.key_id), ActivityType.NOTE, 1),
    ):
        await make.activity(actor, kind, days_ago, target)

    for status, due_days, assignee in (
        ("open", 3, ann),
        ("in_progress", 8, ann),
        ("open", 15, ann),
        ("open", -2, ann),
        ("in_progress", -40, ann),
        ("open", None, ann),
        ("done", 2, ann),
        ("done", -2, ann),
        ("cancelled", None, ann),
        ("open", 1, ben),
        ("open", -1, None),
    ):
        due = None if due_days is None else iso(now + due_days * DAY)
        await post(
            client,
            workspace,
            "/tasks",
            title="Follow up",
            status=status,
            dueAt=due,
            assigneeUserId=str(assignee) if assignee else None,
        )
    return Book(now, ann_headers, ann, ben, sales, partners, stages)


async def dashboard(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    data: dict[str, Any] = await body(
        await client.get(f"{API}/dashboard", params=params, headers=headers)
    )
    return data


def eur(count: int, value: str, weighted: str | None = None) -> dict[str, Any]:
    return amount("EUR", count, value, weighted)


def usd(count: int, value: str, weighted: str | None = None) -> dict[str, Any]:
    return amount("USD", count, value, weighted)


def amount(currency: str, count: int, value: str, weighted: str | None) -> dict[str, Any]:
    found = {"currency": currency, "count": count, "value": value}
    return found if weighted is None else {**found, "weightedValue": weighted}


def open_stages(data: dict[str, Any]) -> list[tuple[str, int, list[dict[str, Any]]]]:
    return [(s["name"], s["count"], s["amounts"]) for s in data["openPipeline"]["stages"]]


def stage_times(data: dict[str, Any]) -> list[tuple[str, int, float | None]]:
    return [(s["name"], s["exits"], s["averageDays"]) for s in data["averageDaysInStage"]]


async def test_every_figure_of_the_period(
    client: httpx.AsyncClient, book: Book, database: Database, other_workspace: Workspace
) -> None:
    await _busy_other_workspace(client, database, other_workspace, book)

    data = await dashboard(client, book.headers, **book.period())

    assert data["period"] == {"from": iso(book.now - 20 * DAY), "to": iso(book.now + 10 * DAY)}
    assert data["userId"] == str(book.ann)
    assert open_stages(data) == [
        ("New", 2, [eur(1, "1000.00", "100.00")]),
        ("Qualified", 3, [eur(1, "99.99", "19.99"), usd(1, "250.50", "87.67")]),
        ("Proposal", 1, [usd(1, "12000.00", "9600.00")]),
        ("Negotiation", 0, []),
        ("Won", 0, []),
        ("Lost", 0, []),
        ("Intro", 1, [eur(1, "500.00", "200.00")]),
        ("Signed", 0, []),
        ("Dropped", 0, []),
    ]
    first = data["openPipeline"]["stages"][0]
    assert first == {
        "stageId": book.stages["New"],
        "pipelineId": book.sales,
        "name": "New",
        "kind": "open",
        "count": 2,
        "amounts": [eur(1, "1000.00", "100.00")],
    }
    assert data["openPipeline"]["stages"][6]["pipelineId"] == book.partners
    assert data["openPipeline"]["stages"][4]["kind"] == "won"
    assert data["openPipeline"]["count"] == 7
    assert data["openPipeline"]["totals"] == [
        eur(3, "1599.99", "319.99"),
        usd(2, "12250.50", "9687.67"),
    ]
    assert data["won"] == {"count": 3, "amounts": [eur(1, "3000.00"), usd(1, "1500.00")]}
    assert data["lost"] == {"count": 2, "amounts": [eur(1, "60.00"), usd(1, "400.00")]}
    assert data["winRate"] == 0.6
    assert stage_times(data) == [
        ("New", 3, 7.17),
        ("Qualified", 2, 12.25),
        ("Proposal", 2, 7.5),
        ("Negotiation", 0, None),
        ("Won", 0, None),
        ("Lost", 0, None),
        ("Intro", 1, 2.0),
        ("Signed", 0, None),
        ("Dropped", 0, None),
    ]
    assert data["averageDaysInStage"][1]["stageId"] == book.stages["Qualified"]
    assert data["averageSalesCycleDays"] == 18.17
    assert data["myActivities"] == {
        "count": 5,
        "byType": {**EVERY_TYPE_ZERO, "CALL": 2, "EMAIL": 2, "MEETING": 1},
    }
    assert data["myTasks"] == {"dueInPeriod": 2, "overdue": 2, "noDueDate": 1}
    assert data["newContacts"] == 3
    assert data["newCompanies"] == 2


async def _busy_other_workspace(
    client: httpx.AsyncClient, database: Database, ws: Workspace, book: Book
) -> None:
    """Leads, moves, contacts, companies and an activity of Ann's in another workspace, all
    in the period."""
    stages, _sales, _partners = await stage_ids(client, ws)
    make = Maker(database, ws, book.now)
    await make.lead(stages["New"], 0, value="999.00", currency="EUR")
    await make.lead(stages["New"], 9, (stages["Won"], 2), value="5.00", currency="USD")
    await make.lead(stages["Proposal"], 6, (stages["Lost"], 3))
    contact = await post(client, ws, "/contacts", name="Elsewhere")
    await post(client, ws, "/companies", name="Elsewhere Inc")
    await make.activity(Actor("user", book.ann), ActivityType.CALL, 1, contact["id"])


async def test_one_pipeline(client: httpx.AsyncClient, book: Book) -> None:
    data = await dashboard(client, book.headers, **book.period(pipelineId=book.sales))

    assert [name for name, _count, _amounts in open_stages(data)] == [
        "New",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]
    assert data["openPipeline"]["count"] == 6
    assert data["openPipeline"]["totals"] == [
        eur(2, "1099.99", "119.99"),
        usd(2, "12250.50", "9687.67"),
    ]
    assert data["won"]["count"] == 3
    assert data["lost"] == {"count": 1, "amounts": [usd(1, "400.00")]}
    assert data["winRate"] == 0.75
    assert stage_times(data)[:3] == [
        ("New", 3, 7.17),
        ("Qualified", 2, 12.25),
        ("Proposal", 2, 7.5),
    ]
    assert data["averageSalesCycleDays"] == 18.17
    # Not lead figures: the same whatever the pipeline.
    assert data["myTasks"] == {"dueInPeriod": 2, "overdue": 2, "noDueDate": 1}
    assert data["newContacts"] == 3

    partners = await dashboard(client, book.headers, **book.period(pipelineId=book.partners))
    assert open_stages(partners) == [
        ("Intro", 1, [eur(1, "500.00", "200.00")]),
        ("Signed", 0, []),
        ("Dropped", 0, []),
    ]
    assert partners["won"] == {"count": 0, "amounts": []}
    assert partners["lost"] == {"count": 1, "amounts": [eur(1, "60.00")]}
    assert partners["winRate"] == 0.0
    assert partners["averageSalesCycleDays"] is None
    assert stage_times(partners) == [("Intro", 1, 2.0), ("Signed", 0, None), ("Dropped", 0, None)]


async def test_leads_of_one_owner(client: httpx.AsyncClient, book: Book) -> None:
    mine = await dashboard(client, book.headers, **book.period(ownerUserId="me"))
    by_id = await dashboard(client, book.headers, **book.period(ownerUserId=str(book.ann)))

    assert mine == by_id
    assert open_stages(mine)[:3] == [
        ("New", 1, [eur(1, "1000.00", "100.00")]),
        ("Qualified", 2, [eur(1, "99.99", "19.99")]),
        ("Proposal", 0, []),
    ]
    assert mine["openPipeline"]["count"] == 4
    assert mine["openPipeline"]["totals"] == [eur(3, "1599.99", "319.99")]
    assert mine["won"] == {"count": 1, "amounts": [eur(1, "3000.00")]}
    assert mine["lost"] == {"count": 2, "amounts": [eur(1, "60.00"), usd(1, "400.00")]}
    assert mine["winRate"] == 0.3333
    assert stage_times(mine)[:3] == [("New", 0, None), ("Qualified", 1, 15.0), ("Proposal", 2, 7.5)]
    assert stage_times(mine)[6] == ("Intro", 1, 2.0)
    assert mine["averageSalesCycleDays"] == 35.0
    assert mine["newContacts"] == 3

    ben = await dashboard(client, book.headers, **book.period(ownerUserId=str(book.ben)))
    assert ben["openPipeline"]["count"] == 1
    assert ben["openPipeline"]["totals"] == [usd(1, "250.50", "87.67")]
    assert ben["won"] == {"count": 1, "amounts": []}
    assert ben["winRate"] == 1.0
    assert ben["averageSalesCycleDays"] == 10.0
    assert stage_times(ben)[:2] == [("New", 2, 5.75), ("Qualified", 0, None)]

    nobody = await dashboard(client, book.headers, **book.period(ownerUserId="unassigned"))
    assert open_stages(nobody)[:3] == [
        ("New", 1, []),
        ("Qualified", 0, []),
        ("Proposal", 1, [usd(1, "12000.00", "9600.00")]),
    ]
    assert nobody["won"] == {"count": 1, "amounts": [usd(1, "1500.00")]}
    assert nobody["lost"] == {"count": 0, "amounts": []}
    assert nobody["winRate"] == 1.0
    assert nobody["averageSalesCycleDays"] == 9.5
    assert stage_times(nobody)[:3] == [
        ("New", 1, 10.0),
        ("Qualified", 1, 9.5),
        ("Proposal", 0, None),
    ]

    stranger = await dashboard(client, book.headers, **book.period(ownerUserId=str(uuid.uuid4())))
    assert stranger["openPipeline"]["count"] == 0
    assert stranger["winRate"] is None


async def test_another_period(client: httpx.AsyncClient, book: Book) -> None:
    """From 32 to 22 days ago: a lead won 25 days ago, one lost 30 days ago, three moves out of
    New, Ann's note of 25 days ago, the contact made 25 days ago."""
    data = await dashboard(
        client,
        book.headers,
        **{"from": iso(book.now - 32 * DAY), "to": iso(book.now - 22 * DAY)},
    )

    assert data["won"] == {"count": 1, "amounts": [usd(1, "777.00")]}
    assert data["lost"] == {"count": 1, "amounts": [eur(1, "50.00")]}
    assert data["winRate"] == 0.5
    assert data["averageSalesCycleDays"] == 5.0
    assert stage_times(data)[:2] == [("New", 3, 6.67), ("Qualified", 0, None)]
    assert data["myActivities"] == {"count": 1, "byType": {**EVERY_TYPE_ZERO, "NOTE": 1}}
    assert data["myTasks"] == {"dueInPeriod": 0, "overdue": 2, "noDueDate": 1}
    assert data["newContacts"] == 1
    assert data["newCompanies"] == 0
    # The open pipeline is now, whatever the period.
    assert data["openPipeline"]["count"] == 7


async def test_the_period_defaults_to_the_last_30_days(
    client: httpx.AsyncClient, book: Book
) -> None:
    before = datetime.now(UTC)
    default = await dashboard(client, book.headers)
    after = datetime.now(UTC)
    to = datetime.fromisoformat(default["period"]["to"])
    assert before <= to <= after
    assert datetime.fromisoformat(default["period"]["from"]) == to - 30 * DAY
    # Up to now: the task due in 3 days is not in it, the one overdue is still overdue.
    assert default["myTasks"] == {"dueInPeriod": 0, "overdue": 2, "noDueDate": 1}
    assert default["myActivities"]["count"] == 6
    assert default["won"]["count"] == 4

    end = book.now - 22 * DAY
    only_to = await dashboard(client, book.headers, to=iso(end))
    assert only_to["period"] == {"from": iso(end - 30 * DAY), "to": iso(end)}
    assert only_to["won"]["count"] == 1

    start = book.now - 3 * DAY
    only_from = await dashboard(client, book.headers, **{"from": iso(start)})
    assert only_from["period"]["from"] == iso(start)
    assert before <= datetime.fromisoformat(only_from["period"]["to"])
    assert only_from["won"]["count"] == 2


async def test_a_key_no_user_is_behind_says_so_with_nulls(
    client: httpx.AsyncClient, book: Book, workspace: Workspace
) -> None:
    data = await dashboard(client, workspace.headers, **book.period())

    assert data["userId"] is None
    assert data["myActivities"] is None
    assert data["myTasks"] is None
    assert data["openPipeline"]["count"] == 7
    assert data["newContacts"] == 3


async def test_an_empty_workspace(client: httpx.AsyncClient, workspace: Workspace) -> None:
    data = await dashboard(client, workspace.headers)

    assert open_stages(data) == [
        (name, 0, []) for name in ("New", "Qualified", "Proposal", "Negotiation", "Won", "Lost")
    ]
    assert data["openPipeline"]["totals"] == []
    assert data["won"] == data["lost"] == {"count": 0, "amounts": []}
    assert data["winRate"] is None
    assert data["averageSalesCycleDays"] is None
    assert {s["averageDays"] for s in data["averageDaysInStage"]} == {None}
    assert (data["newContacts"], data["newCompanies"]) == (0, 0)


async def test_sums_beyond_64_bits_stay_exact(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    stages, _sales, _partners = await stage_ids(client, workspace)
    make = Maker(database, workspace, datetime.now(UTC))
    for _ in range(10):
        await make.lead(stages["Proposal"], 0, value="999999999999999.999", currency="KWD")

    data = await dashboard(client, workspace.headers)

    assert data["openPipeline"]["totals"] == [
        amount("KWD", 10, "9999999999999999.990", "4999999999999999.990")
    ]


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        (
            {"from": "2026-11-20T00:00:00Z", "to": "2026-11-10T00:00:00Z"},
            400,
            "INVALID_REQUEST",
            "from",
        ),
        (
            {"to": "0001-01-01T00:00:00Z", "from": "2026-01-01T00:00:00Z"},
            400,
            "INVALID_REQUEST",
            "from",
        ),
        ({"from": "yesterday"}, 400, "INVALID_REQUEST", "from"),
        ({"to": "1764460800"}, 400, "INVALID_REQUEST", "to"),
        ({"pipelineId": "sales"}, 400, "INVALID_REQUEST", "pipelineId"),
        ({"ownerUserId": "someone"}, 400, "INVALID_REQUEST", "ownerUserId"),
        ({"ownerUserId": "me"}, 400, "INVALID_REQUEST", "ownerUserId"),
        ({"owner": "me"}, 400, "INVALID_REQUEST", "owner"),
    ],
)
async def test_bad_input_is_refused_naming_the_parameter(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    params: dict[str, str],
    status: int,
    code: str,
    field: str,
) -> None:
    before = await snapshot(database)

    response = await client.get(f"{API}/dashboard", params=params, headers=workspace.headers)

    error = assert_error(response, status, code)
    assert [d["field"] for d in error["details"]] == [field]
    assert await snapshot(database) == before


async def test_periods_at_the_ends_of_the_calendar(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    early = await dashboard(client, workspace.headers, to="0001-01-02T00:00:00Z")
    assert early["period"] == {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"}

    late = await client.get(
        f"{API}/dashboard", params={"from": "9999-12-31T00:00:00Z"}, headers=workspace.headers
    )
    error = assert_error(late, 400, "INVALID_REQUEST")
    assert [d["field"] for d in error["details"]] == ["from"]


async def test_a_pipeline_of_no_workspace_or_of_another_is_404(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    _stages, theirs, _partners = await stage_ids(client, other_workspace)

    for pipeline_id in (theirs, str(uuid.uuid4())):
        response = await client.get(
            f"{API}/dashboard", params={"pipelineId": pipeline_id}, headers=workspace.headers
        )
        assert_error(response, 404, "NOT_FOUND")


async def test_the_dashboard_needs_crm_read(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    headers = await add_key(database, workspace, ["crm:write"])

    response = await client.get(f"{API}/dashboard", headers=headers)

    assert_error(response, 403, "FORBIDDEN")
