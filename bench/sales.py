"""The sales read paths at size: one workspace with 50,000 leads over 8 stages in 2 currencies,
their stage moves, 200,000 activities, 5,000 contacts, 1,000 companies and 5,000 tasks
(bulk-loaded, then planner statistics as autovacuum would gather them).

Timed in process through the HTTP app (httpx's ASGI transport, rate limits off), p50 and p95
over N requests each, with a key whose user owns leads, activities and tasks:
- `GET /dashboard` (default period: the last 30 days);
- `GET /leads?stageId=...` page 1 with its total, for the stage holding the most leads.
Baseline in the same run: a bare `SELECT count(*)` of that stage's leads (one table, no HTTP,
no ORM) through the same engine.

    .venv/bin/python -m bench.sales [--leads 50000] [--activities 200000] [--samples 40]
                                    [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.crm_core import contact_rows, insert_rows
from bench.databases import DATABASE_CHOICES, run_on
from bench.figures import DIALECTS, Figure, collect_on
from rapport.app import create_app
from rapport.auth.service import ApiKeyService
from rapport.config import Settings
from rapport.domains import install
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.kit.migrate import upgrade
from rapport.models import (
    Activity,
    ActivityType,
    Company,
    Contact,
    MembershipRole,
    Task,
    TaskStatus,
)
from rapport.models.leads import Lead, LeadStageChange
from rapport.models.pipelines import PipelineStage, StageKind
from rapport.sales.schemas import StageCreate
from rapport.sales.service import PipelineService
from rapport.tenancy.service import WorkspaceService

SETUP = "benchmark set-up and checks"
YEAR = timedelta(days=365)
CURRENCIES = ("EUR", "USD")
USERS = 5
EXTRA_STAGES = (("Demo", 2, 30), ("Contract", 5, 90))
"""Two open stages added to the six built-in ones: name, position, default probability."""
STAGE_WEIGHTS = {
    "New": 15,
    "Qualified": 16,
    "Demo": 10,
    "Proposal": 10,
    "Negotiation": 8,
    "Contract": 6,
    "Won": 20,
    "Lost": 15,
}


@dataclass(frozen=True)
class Seeded:
    tenant: uuid.UUID
    headers: dict[str, str]
    busiest_stage: uuid.UUID
    busiest_count: int


def _moment(rng: random.Random, now: datetime, after: datetime) -> datetime:
    return after + (now - after) * rng.random()


def _lead_rows(
    tenant: uuid.UUID,
    stages: list[PipelineStage],
    owners: list[uuid.UUID | None],
    count: int,
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Leads created over the last year, each in a stage drawn by `STAGE_WEIGHTS`, and their
    stage history: entering New at creation, then (unless still there) the move to their
    stage."""
    now = utcnow()
    first = stages[0]
    weights = [STAGE_WEIGHTS[stage.name] for stage in stages]
    leads, changes = [], []
    for n in range(count):
        stage = rng.choices(stages, weights)[0]
        created = now - YEAR * rng.random()
        entered = created if stage is first else _moment(rng, now, created)
        valued = rng.random() < 0.9
        currency = rng.choice(CURRENCIES) if valued or rng.random() < 0.5 else None
        lead_id = new_id()
        leads.append(
            {
                "id": lead_id,
                "tenant_id": tenant,
                "title": f"Deal {n}",
                "value_minor": rng.randrange(10_000, 10_000_000) if valued else None,
                "currency": currency,
                "probability_pct": rng.randrange(0, 101) if rng.random() < 0.3 else None,
                "pipeline_id": stage.pipeline_id,
                "stage_id": stage.id,
                "status": stage.kind,
                "stage_entered_at": entered,
                "owner_user_id": rng.choice(owners),
                "closed_at": entered if stage.kind != StageKind.OPEN else None,
                "properties": {},
                "version": 1,
                "created_at": created,
                "updated_at": entered,
            }
        )
        moves = [(None, first, created, None)]
        if stage is not first:
            moves.append((first, stage, entered, int((entered - created).total_seconds())))
        for source, target, at, seconds in moves:
            changes.append(
                {
                    "id": new_id(),
                    "tenant_id": tenant,
                    "lead_id": lead_id,
                    "pipeline_id": target.pipeline_id,
                    "from_stage_id": source.id if source else None,
                    "from_stage_name": source.name if source else None,
                    "to_stage_id": target.id,
                    "to_stage_name": target.name,
                    "to_kind": target.kind,
                    "seconds_in_from_stage": seconds,
                    "actor_type": "system",
                    "changed_at": at,
                }
            )
    return leads, changes


def _activity_rows(
    tenant: uuid.UUID,
    contacts: list[uuid.UUID],
    actors: list[tuple[str, uuid.UUID | None]],
    count: int,
    rng: random.Random,
) -> list[dict[str, Any]]:
    now = utcnow()
    kinds = [ActivityType.CALL, ActivityType.EMAIL, ActivityType.MEETING, ActivityType.NOTE]
    rows = []
    for n in range(count):
        actor_type, actor_id = rng.choice(actors)
        rows.append(
            {
                "id": new_id(),
                "tenant_id": tenant,
                "type": rng.choice(kinds),
                "subject": f"Activity {n}",
                "content": "Talked",
                "properties": {},
                "occurred_at": now - YEAR * rng.random(),
                "contact_id": rng.choice(contacts),
                "actor_type": actor_type,
                "actor_id": actor_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def _task_rows(
    tenant: uuid.UUID, owners: list[uuid.UUID | None], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    now = utcnow()
    statuses = list(TaskStatus)
    return [
        {
            "id": new_id(),
            "tenant_id": tenant,
            "title": f"Task {n}",
            "status": rng.choice(statuses),
            "due_at": now + timedelta(days=rng.uniform(-60, 60)) if rng.random() < 0.8 else None,
            "assignee_user_id": rng.choice(owners),
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]


async def seed(database: Database, leads: int, activities: int) -> Seeded:
    rng = random.Random(5)
    async with database.transaction(platform=SETUP) as session:
        workspaces = WorkspaceService(session)
        tenant = (await workspaces.create("Bench")).id
        users = [
            (
                await workspaces.add_user(
                    tenant, f"seller{n}@example.com", "bench-password", role=MembershipRole.MEMBER
                )
            ).id
            for n in range(USERS)
        ]
        context = Context.bound(session, tenant)
        pipelines = PipelineService(context)
        for name, position, probability in EXTRA_STAGES:
            await pipelines.create_stage(
                StageCreate(name=name, sort_order=position, default_probability_pct=probability)
            )
        stages = await pipelines.stages_in_order(None)
        key, secret = await ApiKeyService(context, creator_user_id=users[0]).create(
            "bench", ["crm:read"]
        )
    owners: list[uuid.UUID | None] = [*users, None]
    lead_rows, change_rows = _lead_rows(tenant, stages, owners, leads, rng)
    await insert_rows(database, Lead, lead_rows)
    await insert_rows(database, LeadStageChange, change_rows)
    people = contact_rows(tenant, 0, 5_000, rng)
    await insert_rows(database, Contact, people)
    now = utcnow()
    await insert_rows(
        database,
        Company,
        [
            {
                "id": new_id(),
                "tenant_id": tenant,
                "name": f"Company {n}",
                "properties": {},
                "version": 1,
                "created_at": now - YEAR * rng.random(),
                "updated_at": now,
            }
            for n in range(1_000)
        ],
    )
    actors: list[tuple[str, uuid.UUID | None]] = [
        ("api_key", key.id),
        *(("user", user) for user in users),
        ("system", None),
    ]
    await insert_rows(
        database,
        Activity,
        _activity_rows(tenant, [p["id"] for p in people], actors, activities, rng),
    )
    await insert_rows(database, Task, _task_rows(tenant, owners, 5_000, rng))
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        postgres = connection.dialect.name == "postgresql"
        await autocommit.exec_driver_sql("VACUUM ANALYZE" if postgres else "ANALYZE")
    per_stage: dict[uuid.UUID, int] = {}
    for row in lead_rows:
        per_stage[row["stage_id"]] = per_stage.get(row["stage_id"], 0) + 1
    busiest = max(per_stage, key=lambda stage_id: per_stage[stage_id])
    return Seeded(tenant, {"Authorization": f"Bearer {secret}"}, busiest, per_stage[busiest])


async def _timed(work: Callable[[], Awaitable[None]], samples: int) -> list[float]:
    for _ in range(3):  # warm: statement caches, the key cache
        await work()
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        await work()
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def _line(label: str, values: list[float], baseline: float) -> str:
    p50 = statistics.median(values)
    p95 = statistics.quantiles(values, n=20)[18]
    return f"  {label:<46} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   x{p50 / baseline:.1f}"


async def scenario(
    url: str, leads: int, activities: int, samples: int, figures: list[Figure] | None = None
) -> list[str]:
    database = Database(url)
    await upgrade(database)
    try:
        seeded = await seed(database, leads, activities)
        settings = Settings(
            data_dir=Path(tempfile.mkdtemp(prefix="rapport-bench-")),
            secret_key="bench-secret-" + "x" * 40,
            rate_limits_enabled=False,
            embedded_worker=False,
            log_level="WARNING",
        )
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def get(path: str, params: dict[str, str] | None = None) -> None:
                response = await http.get(path, params=params, headers=seeded.headers)
                assert response.status_code == 200, response.text

            async def count_stage() -> None:
                async with database.engine.connect() as connection:
                    await connection.scalar(
                        select(func.count())
                        .select_from(Lead)
                        .where(
                            Lead.tenant_id == seeded.tenant, Lead.stage_id == seeded.busiest_stage
                        )
                    )

            baseline = await _timed(count_stage, samples)
            dashboard = await _timed(lambda: get("/api/v1/dashboard"), samples)
            stage_list = await _timed(
                lambda: get("/api/v1/leads", {"stageId": str(seeded.busiest_stage)}), samples
            )
        floor = statistics.median(baseline)
        if figures is not None:
            figures.extend(
                Figure(
                    "sales",
                    DIALECTS[database.dialect],
                    f"{name} p50, {leads:,} leads",
                    statistics.median(values),
                    "ms",
                    floor,
                    "count(*) of one stage",
                )
                for name, values in (
                    ("GET /dashboard", dashboard),
                    ("GET /leads?stageId= + total", stage_list),
                )
            )
        return [
            _line(
                f"baseline: count(*) of one stage ({seeded.busiest_count} leads)", baseline, floor
            ),
            _line("GET /dashboard (last 30 days)", dashboard, floor),
            _line("GET /leads?stageId= page 1 with its total", stage_list, floor),
        ]
    finally:
        await database.dispose()


def figures(
    databases: str = "both", leads: int = 50_000, activities: int = 200_000, samples: int = 40
) -> list[Figure]:
    async def collect(url: str, _dialect: str) -> list[Figure]:
        found: list[Figure] = []
        await scenario(url, leads, activities, samples, found)
        return found

    return collect_on(databases, collect)


def main() -> None:
    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--db", choices=DATABASE_CHOICES, default="both")
    args = parser.parse_args()

    async def run(url: str, _dialect: str) -> list[str]:
        return await scenario(url, args.leads, args.activities, args.samples)

    run_on(
        args.db,
        f"{args.leads} leads over 8 stages in 2 currencies, {args.activities} activities, "
        f"one workspace; {args.samples} requests each",
        run,
    )


if __name__ == "__main__":
    main()
