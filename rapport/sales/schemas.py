"""Wire shapes of pipelines and stages."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel, NestedInput, WireModel, not_null
from rapport.models.pipelines import StageKind

_SAMPLE_ID = "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"
_PROBABILITY_DOC = "Probability (0-100) a lead in this stage gets unless it sets its own"
_COLOR_DOC = "A colour name for display (`blue`, `amber`...); free text"
_KIND_DOC = "`open` (being worked), `won` or `lost`: the status of the leads in the stage"


class StageOut(WireModel):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str = Field(examples=["Qualified"])
    kind: StageKind = Field(description=_KIND_DOC)
    sort_order: int = Field(description="Position in the pipeline, from 0", examples=[1])
    default_probability_pct: int = Field(description=_PROBABILITY_DOC, examples=[20])
    color_key: str | None = Field(description=_COLOR_DOC, examples=["blue"])
    system_key: str | None = Field(
        description="The built-in stage it stands for (`new`, `qualified`, `proposal`, "
        "`negotiation`, `won`, `lost`); null for stages added later",
        examples=["qualified"],
    )
    lead_count: int = Field(description="Leads in the stage now", examples=[12])
    created_at: datetime
    updated_at: datetime


class PipelineOut(WireModel):
    id: uuid.UUID
    name: str = Field(examples=["Sales"])
    is_default: bool = Field(
        description="Leads and stage lists that name no pipeline use the default"
    )
    sort_order: int = Field(examples=[0])
    stages: list[StageOut] = Field(description="In pipeline order")
    created_at: datetime
    updated_at: datetime


class StageSpec(NestedInput):
    """A stage of a pipeline being created."""

    name: str = Field(min_length=1, max_length=100, examples=["Discovery"])
    kind: StageKind = Field(default=StageKind.OPEN, description=_KIND_DOC)
    default_probability_pct: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description=_PROBABILITY_DOC + " (default: 100 for won, 0 otherwise)",
    )
    color_key: str | None = Field(default=None, max_length=32, description=_COLOR_DOC)


class PipelineCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Partnerships",
                    "stages": [
                        {"name": "Intro", "defaultProbabilityPct": 10, "colorKey": "slate"},
                        {"name": "Pilot", "defaultProbabilityPct": 50, "colorKey": "amber"},
                        {"name": "Signed", "kind": "won"},
                        {"name": "Dropped", "kind": "lost"},
                    ],
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200, examples=["Partnerships"])
    stages: list[StageSpec] | None = Field(
        default=None,
        max_length=50,
        description="The stages in order; at least one of each kind (open, won, lost). "
        "Left out: the built-in six (new, qualified, proposal, negotiation, won, lost)",
    )
    is_default: bool = Field(default=False, description="Make it the workspace's default pipeline")


class PipelineUpdate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "New business"}]})

    name: str | None = Field(default=None, json_schema_extra=not_null, min_length=1, max_length=200)
    is_default: bool | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="`true` makes it the default (the previous default stops being one); a "
        "default cannot be unset, only replaced",
    )
    sort_order: int | None = Field(default=None, json_schema_extra=not_null, ge=0, le=10_000)


class StageCreate(InputModel, StageSpec):
    """A stage added to a pipeline: a stage of a new pipeline's, and where it goes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Demo booked", "defaultProbabilityPct": 30, "colorKey": "teal"}]
        }
    )

    pipeline_id: uuid.UUID | None = Field(
        default=None, description="The pipeline; left out, the default pipeline"
    )
    sort_order: int | None = Field(
        default=None,
        ge=0,
        description="Where to insert it (0 is first; the stages from there move down); left "
        "out, last",
    )


class StageUpdate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Discovery", "defaultProbabilityPct": 15}]}
    )

    name: str | None = Field(default=None, json_schema_extra=not_null, min_length=1, max_length=100)
    kind: StageKind | None = Field(
        default=None,
        json_schema_extra=not_null,
        description=_KIND_DOC + "; only while no lead sits in the stage",
    )
    default_probability_pct: int | None = Field(
        default=None, json_schema_extra=not_null, ge=0, le=100, description=_PROBABILITY_DOC
    )
    color_key: str | None = Field(default=None, max_length=32, description=_COLOR_DOC)


class StageReorder(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stageIds": [_SAMPLE_ID]}]})

    pipeline_id: uuid.UUID | None = Field(
        default=None, description="The pipeline; left out, the default pipeline"
    )
    stage_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=50,
        description="Every stage of the pipeline, each once, in the new order",
    )


class StageDelete(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"moveLeadsTo": _SAMPLE_ID}]})

    move_leads_to: uuid.UUID | None = Field(
        default=None,
        description="Another stage of the same pipeline to move the stage's leads to (needed "
        "while leads sit in the stage)",
    )
