"""HTTP routes of pipelines and their stages."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Path, Query, Response

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors, query_error
from rapport.kit.session import api_router
from rapport.sales.deps import LeadsAdmin, PipelinesAdmin, PipelinesRead
from rapport.sales.schemas import (
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    StageCreate,
    StageDelete,
    StageOut,
    StageReorder,
    StageUpdate,
)

router = api_router(tags=["Pipelines"])

PipelineId = Annotated[uuid.UUID, Path(description="The pipeline's id")]
StageId = Annotated[uuid.UUID, Path(description="The stage's id")]
PipelineQuery = Annotated[
    uuid.UUID | None,
    Query(alias="pipelineId", description="The pipeline (default: the default pipeline)"),
]

_PIPELINE_404 = documented_errors({404: "No such pipeline in this workspace"})
_STAGE_404 = documented_errors({404: "No such stage in this workspace"})


@router.get("/pipelines", summary="List pipelines with their stages")
async def list_pipelines(pipelines: PipelinesRead) -> ListEnvelope[PipelineOut]:
    """Every pipeline of the workspace (in their sort order), each with its stages in order
    and the number of leads in each stage."""
    return ListEnvelope.whole(await pipelines.all_out())


@router.post(
    "/pipelines",
    status_code=201,
    summary="Create a pipeline",
    responses=documented_errors({409: "PIPELINE_NAME_EXISTS"}),
)
async def create_pipeline(
    body: PipelineCreate, pipelines: PipelinesAdmin, response: Response
) -> Envelope[PipelineOut]:
    """Creates a pipeline with the stages given (in that order; at least one open, one won and
    one lost stage, names unique within it), or with the six built-in stages when `stages` is
    left out. `isDefault: true` makes it the default (the previous default stops being one).
    Needs crm:admin. Emits `pipeline.created`."""
    pipeline = await pipelines.create_pipeline(body)
    response.headers["Location"] = f"/api/v1/pipelines/{pipeline.id}"
    return Envelope(data=await pipelines.one_out(pipeline))


@router.get("/pipelines/{pipeline_id}", summary="One pipeline", responses=_PIPELINE_404)
async def get_pipeline(pipeline_id: PipelineId, pipelines: PipelinesRead) -> Envelope[PipelineOut]:
    """The pipeline with its stages in order and their lead counts."""
    return Envelope(data=await pipelines.one_out(await pipelines.pipeline(pipeline_id)))


@router.patch(
    "/pipelines/{pipeline_id}",
    summary="Rename a pipeline or make it the default",
    responses={**_PIPELINE_404, **documented_errors({409: "PIPELINE_NAME_EXISTS"})},
)
async def update_pipeline(
    pipeline_id: PipelineId, body: PipelineUpdate, pipelines: PipelinesAdmin
) -> Envelope[PipelineOut]:
    """Changes the fields sent. `isDefault: true` moves the default to this pipeline; `false`
    on the default is a 422 (make another pipeline the default instead). Needs crm:admin.
    Emits `pipeline.updated` when something changed."""
    pipeline = await pipelines.update_pipeline(pipeline_id, body)
    return Envelope(data=await pipelines.one_out(pipeline))


@router.delete(
    "/pipelines/{pipeline_id}",
    status_code=204,
    summary="Delete a pipeline",
    responses={
        **_PIPELINE_404,
        **documented_errors({409: "DEFAULT_PIPELINE or PIPELINE_HAS_LEADS"}),
    },
)
async def delete_pipeline(pipeline_id: PipelineId, pipelines: PipelinesAdmin) -> Response:
    """Deletes the pipeline and its stages. The default pipeline cannot be deleted (409
    `DEFAULT_PIPELINE`), nor one that leads sit in (409 `PIPELINE_HAS_LEADS`: move or delete
    them first). Needs crm:admin. Emits `pipeline.deleted`."""
    await pipelines.delete_pipeline(pipeline_id)
    return Response(status_code=204)


@router.get("/pipeline-stages", summary="List the stages of a pipeline", responses=_PIPELINE_404)
async def list_stages(
    pipelines: PipelinesRead, pipeline_id: PipelineQuery = None
) -> ListEnvelope[StageOut]:
    """The stages of the pipeline named by `pipelineId` (of the default pipeline when left
    out), in order, each with the number of leads sitting in it. An unknown `pipelineId` is
    404."""
    pipeline = await (
        pipelines.default() if pipeline_id is None else pipelines.pipeline(pipeline_id)
    )
    return ListEnvelope.whole([v.out() for v in await pipelines.stage_views([pipeline.id])])


@router.post(
    "/pipeline-stages",
    status_code=201,
    summary="Add a stage to a pipeline",
    responses=documented_errors({409: "STAGE_NAME_EXISTS"}),
)
async def create_stage(
    body: StageCreate, pipelines: PipelinesAdmin, response: Response
) -> Envelope[StageOut]:
    """Adds a stage to the pipeline named by `pipelineId` (the default pipeline when left out),
    last or at `sortOrder` (the stages from there move down). Its name must be unique in the
    pipeline (409 `STAGE_NAME_EXISTS`); `defaultProbabilityPct` defaults to 100 for a won
    stage and 0 otherwise. Needs crm:admin. Emits `pipeline_stage.created`."""
    stage = await pipelines.create_stage(body)
    response.headers["Location"] = f"/api/v1/pipeline-stages/{stage.id}"
    return Envelope(data=(await pipelines.stage_view(stage)).out())


@router.post(
    "/pipeline-stages/reorder",
    summary="Put a pipeline's stages in a new order",
)
async def reorder_stages(body: StageReorder, pipelines: PipelinesAdmin) -> ListEnvelope[StageOut]:
    """Gives the stages of the pipeline (`pipelineId`, default pipeline when left out) the
    order of `stageIds`, which must list every stage of the pipeline exactly once: a missing,
    repeated or foreign stage is a 400 naming it, and nothing changes. Needs crm:admin.
    Emits `pipeline.stages_reordered` when the order changed."""
    pipeline = await pipelines.reorder(body.pipeline_id, body.stage_ids)
    return ListEnvelope.whole([v.out() for v in await pipelines.stage_views([pipeline.id])])


@router.get("/pipeline-stages/{stage_id}", summary="One stage", responses=_STAGE_404)
async def get_stage(stage_id: StageId, pipelines: PipelinesRead) -> Envelope[StageOut]:
    """The stage with the number of leads sitting in it."""
    return Envelope(data=(await pipelines.stage_view(await pipelines.stage(stage_id))).out())


@router.patch(
    "/pipeline-stages/{stage_id}",
    summary="Rename a stage or change its kind, probability or colour",
    responses={
        **_STAGE_404,
        **documented_errors(
            {409: "STAGE_NAME_EXISTS, STAGE_HAS_LEADS or LAST_WON_STAGE / LAST_LOST_STAGE"}
        ),
    },
)
async def update_stage(
    stage_id: StageId, body: StageUpdate, pipelines: PipelinesAdmin
) -> Envelope[StageOut]:
    """Changes the fields sent. A stage's `kind` decides the status of the leads in it, so it
    changes only while the stage is empty (409 `STAGE_HAS_LEADS`), and never takes away the
    pipeline's last open, won or lost stage (409 `LAST_..._STAGE`). A new
    `defaultProbabilityPct` applies at once to the leads that follow their stage's
    probability. Needs crm:admin. Emits `pipeline_stage.updated`."""
    return Envelope(data=(await pipelines.update_stage(stage_id, body)).out())


@router.delete(
    "/pipeline-stages/{stage_id}",
    status_code=204,
    summary="Delete a stage (moving its leads)",
    responses={
        **_STAGE_404,
        **documented_errors({409: "STAGE_HAS_LEADS or LAST_WON_STAGE / LAST_LOST_STAGE"}),
    },
)
async def delete_stage(
    stage_id: StageId,
    leads: LeadsAdmin,
    body: Annotated[StageDelete, Body()] = StageDelete(),
    move_leads_to: Annotated[
        uuid.UUID | None,
        Query(
            alias="moveLeadsTo",
            description="Another stage of the same pipeline for the stage's leads (may also be "
            "sent in the body)",
        ),
    ] = None,
) -> Response:
    """Deletes the stage; the stages after it move up. While leads sit in it, `moveLeadsTo`
    (query or body) must name another stage of the same pipeline: each lead moves there as by
    `PATCH /leads/{id}/stage` (recorded, `lead.stage_changed`); without it the answer is 409
    `STAGE_HAS_LEADS` and nothing changes. The pipeline's last open, won or lost stage cannot
    be deleted (409 `LAST_..._STAGE`). Needs crm:admin. Emits `pipeline_stage.deleted`."""
    if move_leads_to and body.move_leads_to and move_leads_to != body.move_leads_to:
        raise query_error("moveLeadsTo", "The query and the body name different stages")
    await leads.delete_stage(stage_id, move_leads_to or body.move_leads_to)
    return Response(status_code=204)
