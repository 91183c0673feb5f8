"""Reading a sent campaign's figures at N recipients: `GET /campaigns/{id}/stats` (counts per
status and bounce type, opens, clicks, per link, over time by day) and the counts every
campaign read and list carries, through the services in this process, p50 and p95 of
repeated reads.

The campaign's rows are written directly: N message rows (96% sent, 2% hard and 1% soft
bounces, 1% failed; 30% opened, 5% clicked, 0.3% unsubscribed, 0.05% complained) and the
opens and clicks behind them (1.4 opens per opener, 1.3 clicks per clicker over three links)
spread over three days, and the campaign's tallies as the services keep them
(`rapport.campaigns.tallies`, counted from those rows). Baseline in the same run: reading the
campaign's row by its id.

    .venv/bin/python -m bench.campaign_stats [--recipients 1000000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from bench.figures import DIALECTS, Figure, collect_on
from rapport.campaigns.service import CampaignService
from rapport.campaigns.tallies import Recount
from rapport.config import Settings
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.kit.migrate import upgrade
from rapport.kit.pagination import PageRequest, SortSpec
from rapport.models.campaigns import (
    BounceType,
    Campaign,
    CampaignInteraction,
    CampaignMessage,
    CampaignStatus,
    CampaignTally,
    InteractionKind,
    MessageStatus,
)
from rapport.tenancy.service import WorkspaceService

SETUP = "benchmark set-up"
FIRSTS = ("opened", "clicked", "complained", "unsubscribed")
PAGE = PageRequest(skip=0, take=25, sort=SortSpec("createdAt", True))
BATCH = 20_000
LINKS = ("https://acme.example/spring", "https://acme.example/pricing", "https://acme.example/blog")


def message_rows(
    tenant: uuid.UUID, campaign: uuid.UUID, first: int, count: int, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Messages `first`.. and the opens and clicks of those that were opened or clicked."""
    began = utcnow() - timedelta(days=3)
    messages, interactions = [], []
    for n in range(first, first + count):
        sent_at = began + timedelta(seconds=n % 3600)
        row: dict[str, Any] = {
            "id": new_id(),
            "tenant_id": tenant,
            "campaign_id": campaign,
            "contact_id": None,
            "email": f"person.{n}@example.com",
            "status": MessageStatus.SENT,
            "reason": None,
            "chunk": n // 500,
            "sent_at": sent_at,
            "opened_at": None,
            "clicked_at": None,
            "bounced_at": None,
            "bounce_type": None,
            "complained_at": None,
            "unsubscribed_at": None,
        }
        draw = rng.random()
        if draw < 0.01:
            row.update(status=MessageStatus.FAILED, reason="refused", sent_at=None)
        elif draw < 0.04:
            row.update(
                bounced_at=sent_at,
                bounce_type=BounceType.HARD if draw < 0.03 else BounceType.SOFT,
            )
        elif draw < 0.34:
            opened = sent_at + timedelta(hours=rng.random() * 60)
            row["opened_at"] = opened
            for _ in range(1 + (rng.random() < 0.4)):
                interactions.append(_interaction(row, InteractionKind.OPENED, opened, None))
            if draw < 0.09:
                row["clicked_at"] = opened
                for _ in range(1 + (rng.random() < 0.3)):
                    link = rng.choice(LINKS)
                    interactions.append(_interaction(row, InteractionKind.CLICKED, opened, link))
            if draw < 0.043:
                row["unsubscribed_at"] = opened
            elif draw < 0.0435:
                row["complained_at"] = opened
        messages.append(row)
    return messages, interactions


def _interaction(
    message: dict[str, Any], kind: InteractionKind, at: Any, url: str | None
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "tenant_id": message["tenant_id"],
        "campaign_id": message["campaign_id"],
        "message_id": message["id"],
        "kind": kind,
        "url": url,
        "at": at,
    }


async def seed(database: Database, recipients: int) -> tuple[uuid.UUID, uuid.UUID]:
    async with database.transaction(platform=SETUP) as session:
        tenant = (await WorkspaceService(session).create("Campaign stats")).id
    campaign = new_id()
    now = utcnow()
    async with database.transaction(platform=SETUP) as session:
        await session.execute(
            insert(Campaign),
            [
                {
                    "id": campaign,
                    "tenant_id": tenant,
                    "name": "March news",
                    "subject": "March news",
                    "html_body": "<p>News</p>",
                    "from_address": "news@acme.example",
                    "audience": {"filter": "email exists"},
                    "track_opens": True,
                    "track_clicks": True,
                    "status": CampaignStatus.SENT,
                    "started_at": now - timedelta(days=3),
                    "finished_at": now - timedelta(days=3),
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
    rng = random.Random(7)
    recount = Recount()  # the tallies the services would have kept
    for first in range(0, recipients, BATCH):
        messages, interactions = message_rows(
            tenant, campaign, first, min(BATCH, recipients - first), rng
        )
        async with database.transaction(platform=SETUP) as session:
            await session.execute(insert(CampaignMessage), messages)
            await session.execute(insert(CampaignInteraction), interactions)
        for m in messages:
            recount.message(
                tenant,
                campaign,
                m["status"],
                m["bounce_type"],
                m["sent_at"],
                **{f"{what}_at": m[f"{what}_at"] for what in FIRSTS},
            )
        for i in interactions:
            recount.interaction(tenant, campaign, i["message_id"], i["kind"], i["url"], i["at"])
    async with database.transaction(platform=SETUP) as session:
        await session.execute(insert(CampaignTally), recount.rows())
    async with database.transaction(platform=SETUP) as session:
        await session.execute(text("ANALYZE"))
    return tenant, campaign


async def timed(database: Database, tenant: uuid.UUID, samples: int, read: Any) -> list[float]:
    """Milliseconds of each of `samples` reads, each in a session of its own."""
    times = []
    for _ in range(samples + 1):
        async with database.session(workspace=tenant) as session:
            service = CampaignService(Context.bound(session, tenant), Settings())
            started = time.perf_counter()
            await read(service)
            times.append((time.perf_counter() - started) * 1000)
    return times[1:]  # the first warms the caches


def p(times: list[float], q: float) -> float:
    return statistics.quantiles(times, n=100)[int(q) - 1] if len(times) > 1 else times[0]


async def scenario(url: str, recipients: int, samples: int) -> tuple[list[str], list[Figure]]:
    database = Database(url)
    await upgrade(database)
    dialect = DIALECTS[database.dialect]
    try:
        started = time.perf_counter()
        tenant, campaign = await seed(database, recipients)
        lines = [f"  {recipients:,} messages written in {time.perf_counter() - started:.0f} s"]

        async def one(service: CampaignService) -> object:
            return await service.out(await service.get(campaign))

        reads = {
            "the campaign's row by id (baseline)": lambda s: s.get(campaign),
            "GET /campaigns/{id} (the row and its counts)": one,
            "GET /campaigns (a page of 25, the counts of each)": lambda s: s.page(PAGE, None),
            "GET /campaigns/{id}/stats?interval=day": lambda s: s.stats(campaign, "day"),
        }
        measured = {
            name: await timed(database, tenant, samples, read) for name, read in reads.items()
        }
        baseline = statistics.median(measured["the campaign's row by id (baseline)"])
        figures = []
        for name, times in measured.items():
            median = statistics.median(times)
            lines.append(
                f"  {name}: p50 {median:.1f} ms, p95 {p(times, 95):.1f} ms "
                f"({median / baseline:.1f}x the baseline)"
            )
            figures.append(
                Figure(
                    "campaign_stats",
                    dialect,
                    f"{name}, p50",
                    median,
                    "ms",
                    baseline,
                    "the campaign's row by id",
                    size=recipients,
                )
            )
        return lines, figures
    finally:
        await database.dispose()


def figures(
    databases: str = "both", recipients: int = 1_000_000, samples: int = 20
) -> list[Figure]:
    async def collect(url: str, dialect: str) -> list[Figure]:
        print(f"{DIALECTS[dialect]}: a sent campaign of {recipients:,} recipients")
        lines, found = await scenario(url, recipients, samples)
        for line in lines:
            print(line)
        return found

    return collect_on(databases, collect)


def main() -> None:
    from rapport.domains import install

    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("both", "postgres", "sqlite"), default="both")
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    figures(args.db, args.recipients, args.samples)


if __name__ == "__main__":
    main()
