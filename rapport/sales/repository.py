"""Every query on pipelines, stages, leads and stage moves."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Select, func, select, update

from rapport.kit.aggregates import exact_sum, seconds_between, summed
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict, taken
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.leads import Lead, LeadStageChange
from rapport.models.pipelines import Pipeline, PipelineStage, StageKind
from rapport.sales.figures import ClosedLeadGroup, OpenLeadGroup, StageExits


def pipeline_name_taken() -> AppError:
    return taken("A pipeline with this name already exists", "PIPELINE_NAME_EXISTS", "name")


def stage_name_taken() -> AppError:
    return taken("The pipeline has a stage with this name already", "STAGE_NAME_EXISTS", "name")


def default_race() -> AppError:
    return Conflict("Another request changed the default pipeline at the same time")


class PipelineRepository(Repository[Pipeline]):
    model = Pipeline
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_pipelines_tenant_name": pipeline_name_taken,
        "pipelines.tenant_id, pipelines.name": pipeline_name_taken,
        "uq_pipelines_tenant_default": default_race,
        "pipelines.tenant_id": default_race,
    }

    async def lock(self, pipeline_ids: Sequence[uuid.UUID]) -> None:
        """Serialise the changes to these pipelines' stages, and the leads entering them, until
        commit: row locks (in id order) on PostgreSQL; on SQLite, a write takes the database's
        write lock. What is read after it is current."""
        ordered = sorted(set(pipeline_ids))
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                self.select(Pipeline.id)
                .where(Pipeline.id.in_(ordered))
                .order_by(Pipeline.id)
                .with_for_update()
            )
        else:
            await self.session.execute(
                update(Pipeline)
                .where(Pipeline.id.in_(ordered))
                .values(sort_order=Pipeline.sort_order)
                .execution_options(synchronize_session=False)
            )

    async def all(self) -> list[Pipeline]:
        result = await self.session.execute(
            self.select().order_by(Pipeline.sort_order, Pipeline.created_at, Pipeline.id)
        )
        return list(result.scalars())

    async def default(self) -> Pipeline | None:
        return await self.first(Pipeline.is_default.is_(True))

    async def clear_default(self) -> None:
        await self.session.execute(
            update(Pipeline)
            .where(Pipeline.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )

    async def lead_count(self, pipeline_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(Lead).where(Lead.pipeline_id == pipeline_id)
        )
        return int(count or 0)


class StageRepository(Repository[PipelineStage]):
    model = PipelineStage
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_pipeline_stages_name": stage_name_taken,
        "pipeline_stages.tenant_id, pipeline_stages.pipeline_id, pipeline_stages.name": (
            stage_name_taken
        ),
    }

    async def of_pipelines(self, pipeline_ids: Sequence[uuid.UUID]) -> list[PipelineStage]:
        """The stages of these pipelines, each pipeline's in order."""
        result = await self.session.execute(
            self.select()
            .where(PipelineStage.pipeline_id.in_(pipeline_ids))
            .order_by(PipelineStage.pipeline_id, PipelineStage.sort_order, PipelineStage.id)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def current(self, stage_id: uuid.UUID) -> PipelineStage | None:
        """The stage as committed now (not as this session loaded it before a lock)."""
        result = await self.session.execute(
            self.select()
            .where(PipelineStage.id == stage_id)
            .execution_options(populate_existing=True)
        )
        stage: PipelineStage | None = result.scalars().first()
        return stage

    async def lead_counts(self, pipeline_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many leads sit in each stage of these pipelines (stages without leads are
        left out)."""
        result = await self.session.execute(
            select(Lead.stage_id, func.count())
            .where(Lead.pipeline_id.in_(pipeline_ids))
            .group_by(Lead.stage_id)
        )
        return {stage_id: count for stage_id, count in result.all()}

    async def by_name_or_key(self, pipeline_id: uuid.UUID, name: str) -> PipelineStage | None:
        """The stage named so (in any case), else the one with this system key."""
        folded = name.strip().lower()
        stages = await self.of_pipelines([pipeline_id])
        return next((s for s in stages if s.name.lower() == folded), None) or next(
            (s for s in stages if s.system_key == folded), None
        )

    async def count_of_kind(self, pipeline_id: uuid.UUID, kind: StageKind) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(PipelineStage)
            .where(PipelineStage.pipeline_id == pipeline_id, PipelineStage.kind == kind)
        )
        return int(count or 0)

    async def in_pipeline_order(self, pipeline_id: uuid.UUID | None) -> list[PipelineStage]:
        """The stages of one pipeline, or of every pipeline (in the pipelines' order), each
        pipeline's in its order."""
        stmt = (
            self.select()
            .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
            .order_by(
                Pipeline.sort_order,
                Pipeline.created_at,
                Pipeline.id,
                PipelineStage.sort_order,
                PipelineStage.id,
            )
        )
        if pipeline_id is not None:
            stmt = stmt.where(PipelineStage.pipeline_id == pipeline_id)
        return list((await self.session.execute(stmt)).scalars())


@dataclass(frozen=True)
class LeadFilters:
    pipeline_id: uuid.UUID | None = None
    stage_ids: tuple[uuid.UUID, ...] | None = None
    """Leads in one of these stages (an empty tuple matches nothing)."""
    statuses: tuple[StageKind, ...] = ()
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    owner_user_id: uuid.UUID | None = None
    unassigned: bool = False
    currency: str | None = None
    value_min: int | None = None
    value_max: int | None = None
    close_from: date | None = None
    close_to: date | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None
    matching: ColumnElement[bool] | None = None
    """A condition compiled from the query language (`LeadService.query_catalog`)."""


class LeadRepository(Repository[Lead]):
    model = Lead

    def rows_where(self, columns: Sequence[Any], *where: Any) -> Select[Any]:
        """These columns of the leads meeting the conditions, in id order."""
        return self.select(*columns).select_from(Lead).where(*where).order_by(Lead.id)

    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Lead.created_at,
        "updatedAt": Lead.updated_at,
        "title": Lead.title,
        "value": Lead.value_minor,
        "expectedCloseDate": Lead.expected_close_date,
        "closedAt": Lead.closed_at,
        "stageEnteredAt": Lead.stage_entered_at,
    }

    async def page(self, f: LeadFilters, request: PageRequest) -> tuple[list[Lead], PageMeta]:
        return await paginate(self.session, self._filtered(f), request, self.sort_columns, Lead.id)

    def _filtered(self, f: LeadFilters) -> Select[Any]:
        stmt = self.select()
        equal: tuple[tuple[Any, Any], ...] = (
            (Lead.pipeline_id, f.pipeline_id),
            (Lead.contact_id, f.contact_id),
            (Lead.company_id, f.company_id),
            (Lead.owner_user_id, f.owner_user_id),
            (Lead.currency, f.currency),
        )
        for column, value in equal:
            if value is not None:
                stmt = stmt.where(column == value)
        if f.stage_ids is not None:
            stmt = stmt.where(Lead.stage_id.in_(f.stage_ids))
        if f.statuses:
            stmt = stmt.where(Lead.status.in_(f.statuses))
        if f.unassigned:
            stmt = stmt.where(Lead.owner_user_id.is_(None))
        ranges: tuple[tuple[Any, Any, Any], ...] = (
            (Lead.value_minor, f.value_min, f.value_max),
            (Lead.expected_close_date, f.close_from, f.close_to),
            (Lead.created_at, f.created_from, f.created_to),
        )
        for column, low, high in ranges:
            if low is not None:
                stmt = stmt.where(column >= low)
            if high is not None:
                stmt = stmt.where(column <= high)
        if f.search:
            stmt = stmt.where(Lead.title.icontains(f.search.strip(), autoescape=True))
        if f.matching is not None:
            stmt = stmt.where(f.matching)
        return stmt

    async def in_stage(self, stage_id: uuid.UUID) -> list[Lead]:
        result = await self.session.execute(
            self.select().where(Lead.stage_id == stage_id).execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def of_contact(self, contact_id: uuid.UUID) -> list[Lead]:
        result = await self.session.execute(self.select().where(Lead.contact_id == contact_id))
        return list(result.scalars())

    async def of_company(self, company_id: uuid.UUID) -> list[Lead]:
        result = await self.session.execute(self.select().where(Lead.company_id == company_id))
        return list(result.scalars())

    def add_stage_change(self, change: LeadStageChange) -> None:
        self.session.add(change)

    async def stage_changes(self, lead_id: uuid.UUID) -> list[LeadStageChange]:
        result = await self.session.execute(
            select(LeadStageChange)
            .where(LeadStageChange.lead_id == lead_id)
            .order_by(LeadStageChange.changed_at, LeadStageChange.id)
        )
        return list(result.scalars())

    async def open_groups(self, f: LeadFilters) -> list[OpenLeadGroup]:
        """The open leads the filters select, grouped by stage and currency."""
        probability = func.coalesce(Lead.probability_pct, PipelineStage.default_probability_pct)
        # value x probability // 100 as on the lead, without the product leaving 64 bits.
        weighted = (Lead.value_minor // 100) * probability + (
            Lead.value_minor % 100
        ) * probability // 100
        stmt = (
            self._filtered(f)
            .with_only_columns(
                Lead.stage_id,
                Lead.currency,
                func.count().label("leads"),
                func.count(Lead.value_minor).label("valued"),
                *exact_sum(Lead.value_minor, "value"),
                *exact_sum(weighted, "weighted"),
            )
            .join_from(Lead, PipelineStage, PipelineStage.id == Lead.stage_id)
            .where(Lead.status == StageKind.OPEN)
            .group_by(Lead.stage_id, Lead.currency)
        )
        return [
            OpenLeadGroup(
                stage_id=row.stage_id,
                currency=row.currency,
                leads=row.leads,
                valued=row.valued,
                value_minor=summed(row, "value"),
                weighted_minor=summed(row, "weighted"),
            )
            for row in await self.session.execute(stmt)
        ]

    async def closed_groups(
        self, f: LeadFilters, start: datetime, end: datetime
    ) -> list[ClosedLeadGroup]:
        """The leads the filters select that were closed between `start` and `end` (both
        included) and are won or lost, grouped by status and currency."""
        stmt = (
            self._filtered(f)
            .with_only_columns(
                Lead.status,
                Lead.currency,
                func.count().label("leads"),
                func.count(Lead.value_minor).label("valued"),
                *exact_sum(Lead.value_minor, "value"),
                func.sum(seconds_between(Lead.closed_at, Lead.created_at)).label("seconds_open"),
            )
            .where(
                Lead.status.in_((StageKind.WON, StageKind.LOST)),
                Lead.closed_at.between(start, end),
            )
            .group_by(Lead.status, Lead.currency)
        )
        return [
            ClosedLeadGroup(
                won=row.status == StageKind.WON,
                currency=row.currency,
                leads=row.leads,
                valued=row.valued,
                value_minor=summed(row, "value"),
                seconds_open=float(row.seconds_open or 0),
            )
            for row in await self.session.execute(stmt)
        ]

    async def stage_exits(
        self, f: LeadFilters, stage_ids: Sequence[uuid.UUID], start: datetime, end: datetime
    ) -> list[StageExits]:
        """How often leads the filters select left each of these stages between `start` and
        `end` (both included), and how long they had sat in it."""
        stmt = (
            select(
                LeadStageChange.from_stage_id,
                func.count(LeadStageChange.seconds_in_from_stage).label("exits"),
                func.sum(LeadStageChange.seconds_in_from_stage).label("seconds"),
            )
            .where(
                LeadStageChange.from_stage_id.in_(stage_ids),
                LeadStageChange.changed_at.between(start, end),
            )
            .group_by(LeadStageChange.from_stage_id)
        )
        if f != LeadFilters():
            stmt = stmt.where(
                LeadStageChange.lead_id.in_(self._filtered(f).with_only_columns(Lead.id))
            )
        return [
            StageExits(stage_id=row.from_stage_id, exits=row.exits, seconds=int(row.seconds or 0))
            for row in await self.session.execute(stmt)
        ]
