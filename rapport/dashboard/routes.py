"""HTTP route of the dashboard."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from rapport.dashboard.deps import DashboardRead
from rapport.dashboard.schemas import Dashboard
from rapport.kit.envelope import Envelope
from rapport.kit.errors import documented_errors
from rapport.kit.schemas import UtcDateTime
from rapport.kit.session import api_router

router = api_router(tags=["Dashboard"])


@router.get(
    "/dashboard",
    summary="Sales figures, your activities and tasks, and new records over a period",
    responses=documented_errors(
        {
            400: "A malformed value, `from` after `to`, or `ownerUserId=me` with a credential "
            "no user is behind (`details[].field` names the parameter)",
            404: "No such pipeline in this workspace",
        }
    ),
)
async def get_dashboard(
    dashboard: DashboardRead,
    start: Annotated[
        UtcDateTime | None,
        Query(
            alias="from",
            description="Start of the period, included (ISO 8601); default 30 days before `to`",
        ),
    ] = None,
    end: Annotated[
        UtcDateTime | None,
        Query(alias="to", description="End of the period, included (ISO 8601); default now"),
    ] = None,
    pipeline_id: Annotated[
        uuid.UUID | None,
        Query(
            alias="pipelineId",
            description="Only this pipeline's stages and leads; default every pipeline",
        ),
    ] = None,
    owner_user_id: Annotated[
        str | None,
        Query(
            alias="ownerUserId",
            max_length=40,
            description="Only the leads owned by this user (an id), by the user behind the "
            "credential (`me`), or by no one (`unassigned`); applies to the lead figures "
            "(openPipeline, won, lost, winRate, averageDaysInStage, averageSalesCycleDays)",
        ),
    ] = None,
) -> Envelope[Dashboard]:
    """The workspace's figures in one read, each counted by the database:

    - `openPipeline`: the open leads now, for every stage in order, with their values and
      probability-weighted values per currency (never converted or added across currencies;
      a lead without a value counts but adds nothing), and the totals per currency.
    - `won` / `lost`: the leads closed in the period (`closedAt` from `from` to `to`) that are
      won / lost now, with their values per currency; `winRate` is won / (won + lost).
    - `averageDaysInStage`: for every stage, how long the leads that left it in the period had
      sat in it (the stage moves recorded in the period).
    - `averageSalesCycleDays`: from creation to closing, over the leads won in the period.
    - `myActivities`: the activities that occurred in the period and that your user logged,
      signed in or through an API key it created, by type. `myTasks`: the tasks assigned to
      your user that are open or in progress: due in the period (and not yet overdue),
      overdue, without a due date. Your user is the signed-in user, or the user who created
      the API key; for a key made on the command line there is none, and both are null.
    - `newContacts` (neither deleted nor merged) and `newCompanies` created in the period.

    The period runs from `from` to `to`, both included: by default the 30 days up to now.
    `pipelineId` and `ownerUserId` narrow the lead figures only."""
    return Envelope(data=await dashboard.figures(start, end, pipeline_id, owner_user_id))
