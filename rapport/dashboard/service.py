"""The dashboard's figures: the open pipeline now, what was won and lost in a period, how long
leads sit in each stage, the caller's own activities and tasks, new contacts and companies.
Every figure is counted or summed by the database, through the service of the domain that owns
the records; this module only puts them together (never adding one currency to another)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from rapport.activities.service import ActivityService
from rapport.auth.service import ApiKeyService, acting_user_id, owner_filter
from rapport.companies.service import CompanyService
from rapport.contacts.service import ContactService
from rapport.dashboard.schemas import (
    ClosedLeads,
    CurrencyAmount,
    Dashboard,
    MyActivities,
    MyTasks,
    OpenPipeline,
    Period,
    StageOpenLeads,
    StageTime,
    WeightedAmount,
)
from rapport.kit.context import Context
from rapport.kit.errors import query_error
from rapport.kit.money import to_amount
from rapport.sales.leads import LeadService
from rapport.sales.service import PipelineService
from rapport.todos.service import TaskService

if TYPE_CHECKING:
    from rapport.models.pipelines import PipelineStage
    from rapport.sales.figures import OpenLeadGroup, StageExits

DEFAULT_PERIOD = timedelta(days=30)
SECONDS_PER_DAY = 86_400
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def period_of(start: datetime | None, end: datetime | None, now: datetime) -> Period:
    """The period asked for: `to` defaults to now, `from` to 30 days before `to`; `from` after
    `to` is a 400 on `from`."""
    end = now if end is None else end
    if start is None:
        start = end - DEFAULT_PERIOD if end - _EARLIEST > DEFAULT_PERIOD else _EARLIEST
    if start > end:
        raise query_error("from", "Must not be after `to` (the end of the period)")
    return Period(start=start, end=end)


def _rounded(value: Decimal, places: int) -> float:
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _days(seconds: float, count: int) -> float | None:
    """The mean of `count` durations summing to `seconds`, in days with 2 decimals."""
    if count == 0:
        return None
    return _rounded(Decimal(str(seconds)) / count / SECONDS_PER_DAY, 2)


class _Totals:
    """Leads and amounts added up per currency (a currency's values only ever join its own)."""

    def __init__(self) -> None:
        self.leads = 0
        self.valued: dict[str, int] = defaultdict(int)
        self.value: dict[str, int] = defaultdict(int)
        self.weighted: dict[str, int] = defaultdict(int)

    def add(
        self, leads: int, currency: str | None, valued: int, value: int, weighted: int = 0
    ) -> None:
        self.leads += leads
        if currency is not None and valued:
            self.valued[currency] += valued
            self.value[currency] += value
            self.weighted[currency] += weighted

    def amounts(self) -> list[CurrencyAmount]:
        return [
            CurrencyAmount(
                currency=code,
                count=self.valued[code],
                value=to_amount(self.value[code], code),
            )
            for code in sorted(self.valued)
        ]

    def weighted_amounts(self) -> list[WeightedAmount]:
        return [
            WeightedAmount(
                currency=code,
                count=self.valued[code],
                value=to_amount(self.value[code], code),
                weighted_value=to_amount(self.weighted[code], code),
            )
            for code in sorted(self.valued)
        ]


class DashboardService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.pipelines = PipelineService(context)
        self.leads = LeadService(context)

    async def figures(
        self,
        start: datetime | None,
        end: datetime | None,
        pipeline_id: uuid.UUID | None,
        owner: str | None,
    ) -> Dashboard:
        """The dashboard for the period from `start` to `end` (see `period_of`), over one
        pipeline or all (404 for a pipeline not in the workspace), the lead figures restricted
        to the leads of `owner` (a user id, `me` or `unassigned`) when given."""
        now = self.context.clock()
        period = period_of(start, end, now)
        owned = await owner_filter(self.context, owner)
        stages = await self.pipelines.stages_in_order(pipeline_id)
        open_groups = await self.leads.open_groups(pipeline_id, **owned)
        closed_groups = await self.leads.closed_groups(
            period.start, period.end, pipeline_id, **owned
        )
        exits = await self.leads.stage_exits(
            [stage.id for stage in stages], period.start, period.end, **owned
        )
        user_id = await acting_user_id(self.context)
        won, lost = _Totals(), _Totals()
        seconds_to_win = 0.0
        for group in closed_groups:
            (won if group.won else lost).add(
                group.leads, group.currency, group.valued, group.value_minor
            )
            if group.won:
                seconds_to_win += group.seconds_open
        decided = won.leads + lost.leads
        return Dashboard(
            period=period,
            user_id=user_id,
            open_pipeline=_open_pipeline(stages, open_groups),
            won=ClosedLeads(count=won.leads, amounts=won.amounts()),
            lost=ClosedLeads(count=lost.leads, amounts=lost.amounts()),
            win_rate=_rounded(Decimal(won.leads) / decided, 4) if decided else None,
            average_days_in_stage=_stage_times(stages, exits),
            average_sales_cycle_days=_days(seconds_to_win, won.leads),
            my_activities=await self._activities(user_id, period),
            my_tasks=await self._tasks(user_id, period, now),
            new_contacts=await ContactService(self.context).count_created_between(
                period.start, period.end
            ),
            new_companies=await CompanyService(self.context).count_created_between(
                period.start, period.end
            ),
        )

    async def _activities(self, user_id: uuid.UUID | None, period: Period) -> MyActivities | None:
        if user_id is None:
            return None
        by_type = await ActivityService(self.context).count_by_type_logged_by(
            user_id,
            ApiKeyService(self.context).ids_created_by(user_id),
            period.start,
            period.end,
        )
        return MyActivities(count=sum(by_type.values()), by_type=by_type)

    async def _tasks(
        self, user_id: uuid.UUID | None, period: Period, now: datetime
    ) -> MyTasks | None:
        if user_id is None:
            return None
        counts = await TaskService(self.context).open_counts_of_assignee(
            user_id, period.start, period.end, now
        )
        return MyTasks(**counts)


def _open_pipeline(stages: list[PipelineStage], groups: Iterable[OpenLeadGroup]) -> OpenPipeline:
    """The open leads of each stage, and of all of them; leads of a stage made after the stages
    were read (each read of a GET is a statement of its own) wait for the next dashboard."""
    per_stage: dict[uuid.UUID, _Totals] = {stage.id: _Totals() for stage in stages}
    overall = _Totals()
    for group in groups:
        stage_totals = per_stage.get(group.stage_id)
        if stage_totals is None:
            continue
        for totals in (stage_totals, overall):
            totals.add(
                group.leads, group.currency, group.valued, group.value_minor, group.weighted_minor
            )
    return OpenPipeline(
        stages=[
            StageOpenLeads(
                stage_id=stage.id,
                pipeline_id=stage.pipeline_id,
                name=stage.name,
                kind=str(stage.kind),
                count=per_stage[stage.id].leads,
                amounts=per_stage[stage.id].weighted_amounts(),
            )
            for stage in stages
        ],
        count=overall.leads,
        totals=overall.weighted_amounts(),
    )


def _stage_times(stages: list[PipelineStage], exits: Iterable[StageExits]) -> list[StageTime]:
    by_stage = {e.stage_id: e for e in exits}
    times = []
    for stage in stages:
        found = by_stage.get(stage.id)
        count = found.exits if found else 0
        times.append(
            StageTime(
                stage_id=stage.id,
                pipeline_id=stage.pipeline_id,
                name=stage.name,
                kind=str(stage.kind),
                exits=count,
                average_days=_days(found.seconds, count) if found else None,
            )
        )
    return times
