"""Pipeline rules: one default pipeline per workspace, stage names unique in their pipeline,
at least one open, one won and one lost stage in every pipeline, orders without gaps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic.alias_generators import to_camel

from rapport.events.service import EventRecorder
from rapport.kit.context import Context
from rapport.kit.errors import Conflict, ErrorDetail, InvalidRequest, NotFound, field_error
from rapport.kit.normalize import clean, not_blank
from rapport.models.pipelines import Pipeline, PipelineStage, StageKind
from rapport.sales.repository import PipelineRepository, StageRepository, stage_name_taken
from rapport.sales.schemas import (
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    StageCreate,
    StageOut,
    StageSpec,
    StageUpdate,
)

DEFAULT_PIPELINE_NAME = "Sales pipeline"
DEFAULT_STAGES: tuple[tuple[str, StageKind, int, str], ...] = (
    ("New", StageKind.OPEN, 10, "slate"),
    ("Qualified", StageKind.OPEN, 20, "blue"),
    ("Proposal", StageKind.OPEN, 50, "violet"),
    ("Negotiation", StageKind.OPEN, 75, "amber"),
    ("Won", StageKind.WON, 100, "green"),
    ("Lost", StageKind.LOST, 0, "red"),
)
"""The built-in stages: name, kind, default probability, colour; the system key is the name
in lower case."""


@dataclass(frozen=True)
class StageView:
    stage: PipelineStage
    lead_count: int

    def out(self) -> StageOut:
        stage = self.stage
        return StageOut(
            id=stage.id,
            pipeline_id=stage.pipeline_id,
            name=stage.name,
            kind=stage.kind,
            sort_order=stage.sort_order,
            default_probability_pct=stage.default_probability_pct,
            color_key=stage.color_key,
            system_key=stage.system_key,
            lead_count=self.lead_count,
            created_at=stage.created_at,
            updated_at=stage.updated_at,
        )


def _default_probability(kind: StageKind, given: int | None) -> int:
    if given is not None:
        return given
    return 100 if kind == StageKind.WON else 0


class PipelineService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.pipelines = PipelineRepository(context.session)
        self.stages = StageRepository(context.session)
        self.events = EventRecorder(context)

    # --- reading ---------------------------------------------------------------------------

    async def pipeline(self, pipeline_id: uuid.UUID) -> Pipeline:
        pipeline = await self.pipelines.get(pipeline_id)
        if pipeline is None:
            raise NotFound("Pipeline not found")
        return pipeline

    async def default(self) -> Pipeline:
        pipeline = await self.pipelines.default()
        if pipeline is None:  # every workspace gets one when it is made
            raise Conflict("The workspace has no default pipeline", code="NO_PIPELINE")
        return pipeline

    async def named(self, pipeline_id: uuid.UUID | None, field: str = "pipelineId") -> Pipeline:
        """The pipeline a body or query names (422 on `field` if not in the workspace), or the
        default pipeline when it names none."""
        if pipeline_id is None:
            return await self.default()
        pipeline = await self.pipelines.get(pipeline_id)
        if pipeline is None:
            raise field_error(field, "No such pipeline in this workspace")
        return pipeline

    async def stage(self, stage_id: uuid.UUID) -> PipelineStage:
        stage = await self.stages.get(stage_id)
        if stage is None:
            raise NotFound("Stage not found")
        return stage

    async def stage_named(self, stage_id: uuid.UUID, field: str = "stageId") -> PipelineStage:
        stage = await self.stages.get(stage_id)
        if stage is None:
            raise field_error(field, "No such stage in this workspace")
        return stage

    async def stage_by_name(self, pipeline_id: uuid.UUID, name: str) -> PipelineStage | None:
        return await self.stages.by_name_or_key(pipeline_id, name)

    async def first_open_stage(self, pipeline: Pipeline) -> PipelineStage:
        stages = await self.stages_of([pipeline.id])
        return next(s for s in stages if s.kind == StageKind.OPEN)

    async def stages_of(self, pipeline_ids: list[uuid.UUID]) -> list[PipelineStage]:
        """The stages of these pipelines, each pipeline's in order (no lead counts)."""
        return await self.stages.of_pipelines(pipeline_ids)

    async def stage_view(self, stage: PipelineStage) -> StageView:
        counts = await self.stages.lead_counts([stage.pipeline_id])
        return StageView(stage, counts.get(stage.id, 0))

    async def stage_views(self, pipeline_ids: list[uuid.UUID]) -> list[StageView]:
        stages = await self.stages.of_pipelines(pipeline_ids)
        counts = await self.stages.lead_counts(pipeline_ids)
        return [StageView(stage, counts.get(stage.id, 0)) for stage in stages]

    async def all_out(self) -> list[PipelineOut]:
        pipelines = await self.pipelines.all()
        return await self._out(pipelines)

    async def one_out(self, pipeline: Pipeline) -> PipelineOut:
        return (await self._out([pipeline]))[0]

    async def _out(self, pipelines: list[Pipeline]) -> list[PipelineOut]:
        views = await self.stage_views([p.id for p in pipelines])
        return [
            PipelineOut(
                id=p.id,
                name=p.name,
                is_default=p.is_default,
                sort_order=p.sort_order,
                stages=[v.out() for v in views if v.stage.pipeline_id == p.id],
                created_at=p.created_at,
                updated_at=p.updated_at,
            )
            for p in pipelines
        ]

    # --- pipelines -------------------------------------------------------------------------

    async def set_up_workspace(self) -> Pipeline:
        """The default pipeline with the built-in stages, for a new workspace."""
        pipeline = self.pipelines.add(Pipeline(name=DEFAULT_PIPELINE_NAME, is_default=True))
        await self.pipelines.flush()
        for order, (name, kind, probability, color) in enumerate(DEFAULT_STAGES):
            self.stages.add(
                PipelineStage(
                    pipeline_id=pipeline.id,
                    name=name,
                    kind=kind,
                    sort_order=order,
                    default_probability_pct=probability,
                    color_key=color,
                    system_key=name.lower(),
                )
            )
        await self.stages.flush()
        return pipeline

    async def create_pipeline(self, data: PipelineCreate) -> Pipeline:
        name = not_blank(data.name, "name")
        specs = data.stages
        if specs is not None:
            _check_stage_set(specs)
        if data.is_default:
            await self.pipelines.clear_default()
        count = len(await self.pipelines.all())
        pipeline = self.pipelines.add(
            Pipeline(name=name, is_default=data.is_default, sort_order=count)
        )
        await self.pipelines.flush()
        if specs is None:
            specs = [
                StageSpec(name=n, kind=k, default_probability_pct=p, color_key=c)
                for n, k, p, c in DEFAULT_STAGES
            ]
            keys: list[str | None] = [n.lower() for n, *_ in DEFAULT_STAGES]
        else:
            keys = [None] * len(specs)
        for order, (spec, key) in enumerate(zip(specs, keys, strict=True)):
            self.stages.add(
                PipelineStage(
                    pipeline_id=pipeline.id,
                    name=not_blank(spec.name, f"stages[{order}].name"),
                    kind=spec.kind,
                    sort_order=order,
                    default_probability_pct=_default_probability(
                        spec.kind, spec.default_probability_pct
                    ),
                    color_key=clean(spec.color_key),
                    system_key=key,
                )
            )
        await self.stages.flush()
        await self._emit_pipeline("pipeline.created", pipeline)
        return pipeline

    async def update_pipeline(self, pipeline_id: uuid.UUID, patch: PipelineUpdate) -> Pipeline:
        pipeline = await self.pipeline(pipeline_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        for field in sent:
            if getattr(patch, field) is None:
                raise field_error(to_camel(field), "Cannot be null")
        before = await self._record(pipeline)
        if "name" in sent:
            pipeline.name = not_blank(patch.name, "name")
        if "sort_order" in sent and patch.sort_order is not None:
            pipeline.sort_order = patch.sort_order
        if "is_default" in sent and patch.is_default != pipeline.is_default:
            if not patch.is_default:
                raise field_error(
                    "isDefault", "A workspace always has a default; make another one default"
                )
            await self.pipelines.clear_default()
            pipeline.is_default = True
        await self.pipelines.flush()
        await self._emit_pipeline("pipeline.updated", pipeline, before)
        return pipeline

    async def delete_pipeline(self, pipeline_id: uuid.UUID) -> None:
        pipeline = await self.pipeline(pipeline_id)
        await self.lock(pipeline.id)
        if pipeline.is_default:
            raise Conflict(
                "The default pipeline cannot be deleted; make another one default first",
                code="DEFAULT_PIPELINE",
                details=[ErrorDetail(field="isDefault", message="This pipeline is the default")],
            )
        if await self.pipelines.lead_count(pipeline.id):
            raise Conflict(
                "Leads sit in this pipeline; move or delete them first",
                code="PIPELINE_HAS_LEADS",
                details=[ErrorDetail(field="pipelineId", message="Leads sit in this pipeline")],
            )
        record = await self._record(pipeline)
        await self.context.session.delete(pipeline)
        await self.pipelines.flush()
        self.events.record("pipeline.deleted", "pipeline", pipeline_id, {"record": record})

    # --- stages ----------------------------------------------------------------------------

    async def lock(self, *pipeline_ids: uuid.UUID) -> None:
        """Serialise the changes of these pipelines' stages and the leads entering them until
        commit (`current_stage` and the stage lists read after it are current)."""
        await self.pipelines.lock(pipeline_ids)

    async def current_stage(self, stage_id: uuid.UUID, field: str | None = None) -> PipelineStage:
        """The stage as committed now, after a `lock`: 404 if it is gone, or a 422 on `field`
        when a body names it."""
        stage = await self.stages.current(stage_id)
        if stage is None:
            if field is None:
                raise NotFound("Stage not found")
            raise field_error(field, "No such stage in this workspace")
        return stage

    async def create_stage(self, data: StageCreate) -> PipelineStage:
        pipeline = await self.named(data.pipeline_id)
        await self.lock(pipeline.id)
        stages = await self.stages.of_pipelines([pipeline.id])
        name = not_blank(data.name, "name")
        _ensure_unique_name(stages, name)
        position = len(stages) if data.sort_order is None else min(data.sort_order, len(stages))
        for stage in stages[position:]:
            stage.sort_order += 1
        stage = self.stages.add(
            PipelineStage(
                pipeline_id=pipeline.id,
                name=name,
                kind=data.kind,
                sort_order=position,
                default_probability_pct=_default_probability(
                    data.kind, data.default_probability_pct
                ),
                color_key=clean(data.color_key),
            )
        )
        await self.stages.flush()
        self._emit_stage("pipeline_stage.created", StageView(stage, 0))
        return stage

    async def update_stage(self, stage_id: uuid.UUID, patch: StageUpdate) -> StageView:
        """Its kind changes only while no lead sits in it (leads take their status from it)."""
        await self.lock((await self.stage(stage_id)).pipeline_id)
        stage = await self.current_stage(stage_id)
        lead_count = (await self.stage_view(stage)).lead_count
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        for field in sent - {"color_key"}:
            if getattr(patch, field) is None:
                raise field_error(to_camel(field), "Cannot be null")
        before = StageView(stage, lead_count).out().model_dump(mode="json", by_alias=True)
        if "name" in sent:
            name = not_blank(patch.name, "name")
            siblings = await self.stages.of_pipelines([stage.pipeline_id])
            _ensure_unique_name([s for s in siblings if s is not stage], name)
            stage.name = name
        if "default_probability_pct" in sent and patch.default_probability_pct is not None:
            stage.default_probability_pct = patch.default_probability_pct
        if "color_key" in sent:
            stage.color_key = clean(patch.color_key)
        if "kind" in sent and patch.kind is not None and patch.kind != stage.kind:
            if lead_count:
                raise Conflict(
                    "Leads sit in this stage: its kind decides their status. Move them first",
                    code="STAGE_HAS_LEADS",
                    details=[
                        ErrorDetail(field="kind", message=f"{lead_count} lead(s) sit in the stage")
                    ],
                )
            await self._keep_closing_stages(stage)
            stage.kind = patch.kind
        await self.stages.flush()
        view = StageView(stage, lead_count)
        self._emit_stage("pipeline_stage.updated", view, before)
        return view

    async def reorder(self, pipeline_id: uuid.UUID | None, stage_ids: list[uuid.UUID]) -> Pipeline:
        pipeline = await self.named(pipeline_id)
        await self.lock(pipeline.id)
        stages = {s.id: s for s in await self.stages.of_pipelines([pipeline.id])}
        if len(set(stage_ids)) != len(stage_ids):
            raise _reorder_error("Lists a stage more than once")
        missing = stages.keys() - set(stage_ids)
        foreign = set(stage_ids) - stages.keys()
        if foreign:
            raise _reorder_error(
                f"Not stages of this pipeline: {', '.join(sorted(map(str, foreign)))}"
            )
        if missing:
            raise _reorder_error(
                f"Every stage of the pipeline must be listed; missing "
                f"{', '.join(sorted(map(str, missing)))}"
            )
        before = [str(s.id) for s in sorted(stages.values(), key=lambda s: s.sort_order)]
        for order, stage_id in enumerate(stage_ids):
            stages[stage_id].sort_order = order
        await self.stages.flush()
        if before != [str(i) for i in stage_ids]:
            self.events.record(
                "pipeline.stages_reordered",
                "pipeline",
                pipeline.id,
                {"before": before, "after": [str(i) for i in stage_ids]},
            )
        return pipeline

    async def check_deletable(self, stage: PipelineStage) -> None:
        await self._keep_closing_stages(stage)

    async def delete_stage(self, stage: PipelineStage) -> None:
        """Delete a stage no lead sits in any more; the stages after it move up."""
        record = StageView(stage, 0).out().model_dump(mode="json", by_alias=True)
        await self.context.session.delete(stage)
        await self.stages.flush()
        for order, other in enumerate(await self.stages.of_pipelines([stage.pipeline_id])):
            other.sort_order = order
        await self.stages.flush()
        self.events.record("pipeline_stage.deleted", "pipeline_stage", stage.id, {"record": record})

    async def _keep_closing_stages(self, stage: PipelineStage) -> None:
        """Refuse to take away a pipeline's last won or last lost stage (or its last open one):
        leads must always have somewhere to end."""
        if await self.stages.count_of_kind(stage.pipeline_id, stage.kind) <= 1:
            raise Conflict(
                f"This is the pipeline's last {stage.kind.value} stage",
                code=f"LAST_{stage.kind.value.upper()}_STAGE",
                details=[
                    ErrorDetail(
                        field="kind",
                        message=f"A pipeline keeps at least one {stage.kind.value} stage",
                    )
                ],
            )

    # --- events ----------------------------------------------------------------------------

    async def _record(self, pipeline: Pipeline) -> dict[str, Any]:
        record = (await self.one_out(pipeline)).model_dump(mode="json", by_alias=True)
        record.pop("stages")
        return record

    async def _emit_pipeline(
        self, event_type: str, pipeline: Pipeline, before: dict[str, Any] | None = None
    ) -> None:
        record = await self._record(pipeline)
        self.events.record_change(event_type, "pipeline", pipeline.id, record, before)

    def _emit_stage(
        self, event_type: str, view: StageView, before: dict[str, Any] | None = None
    ) -> None:
        record = view.out().model_dump(mode="json", by_alias=True)
        self.events.record_change(event_type, "pipeline_stage", view.stage.id, record, before)

    # --- figures ---------------------------------------------------------------------------

    async def stages_in_order(self, pipeline_id: uuid.UUID | None) -> list[PipelineStage]:
        """The stages of one pipeline (404 if it is not in the workspace), or of every
        pipeline: the pipelines in their order, each one's stages in theirs."""
        if pipeline_id is not None:
            await self.pipeline(pipeline_id)
        return await self.stages.in_pipeline_order(pipeline_id)


def _check_stage_set(specs: list[StageSpec]) -> None:
    kinds = {spec.kind for spec in specs}
    for kind in StageKind:
        if kind not in kinds:
            raise field_error("stages", f"A pipeline needs at least one {kind.value} stage")
    names = [spec.name.strip().casefold() for spec in specs]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise field_error(f"stages[{index}].name", "Two stages cannot share a name")


def _ensure_unique_name(stages: list[PipelineStage], name: str) -> None:
    """Stage names are unique in their pipeline whatever their case (the `stage` filter of
    leads matches them in any case)."""
    if any(stage.name.casefold() == name.casefold() for stage in stages):
        raise stage_name_taken()


def _reorder_error(message: str) -> InvalidRequest:
    """400, not 422: the list is well formed but does not describe the pipeline."""
    return InvalidRequest(
        f"stageIds: {message}", details=[ErrorDetail(field="stageIds", message=message)]
    )
