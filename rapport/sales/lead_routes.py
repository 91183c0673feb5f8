"""HTTP routes of leads: CRUD, stage moves, their timeline and activities."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Response

from rapport.activities.schemas import ActivityOut
from rapport.auth.dependencies import OwnerQuery
from rapport.kit.batch import BatchEnvelope, batch_answer, some_failed
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.etag import ETAG_HEADER, NOT_MODIFIED, IfMatch, IfNoneMatch, not_modified
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.query import CreatedFrom, CreatedTo, WhereQuery
from rapport.kit.schemas import IsoDate
from rapport.kit.session import api_router
from rapport.models.leads import Lead
from rapport.models.pipelines import StageKind
from rapport.overview.schemas import TimelineItem
from rapport.sales.deps import LeadsBulk, LeadsRead, LeadsWrite
from rapport.sales.lead_schemas import (
    LeadActivityCreate,
    LeadBatch,
    LeadCreate,
    LeadOut,
    LeadUpdate,
    StageChangeOut,
    StageMove,
)
from rapport.sales.leads import LeadQuery, LeadService, lead_etag
from rapport.sales.repository import LeadRepository

router = api_router(prefix="/leads", tags=["Leads"])

LeadId = Annotated[uuid.UUID, Path(description="The lead's id")]
LeadPage = Annotated[PageRequest, Depends(Pagination(LeadRepository.sort_columns))]
TimelinePage = Annotated[
    PageRequest, Depends(Pagination(("occurredAt",), default_sort="occurredAt"))
]

_NOT_FOUND = documented_errors({404: "No such lead in this workspace"})
_CHANGED = {
    **_NOT_FOUND,
    **documented_errors({412: "If-Match mismatch"}),
    200: {"headers": ETAG_HEADER},
}


async def _one(leads: LeadService, lead: Lead, response: Response) -> Envelope[LeadOut]:
    response.headers["ETag"] = lead_etag(lead)
    return Envelope(data=await leads.one_out(lead))


@router.get("", summary="List leads")
async def list_leads(
    leads: LeadsRead,
    page: LeadPage,
    company_id: Annotated[
        uuid.UUID | None, Query(alias="companyId", description="Only leads of this company")
    ] = None,
    contact_id: Annotated[
        uuid.UUID | None, Query(alias="contactId", description="Only leads of this contact")
    ] = None,
    pipeline_id: Annotated[
        uuid.UUID | None, Query(alias="pipelineId", description="Only leads in this pipeline")
    ] = None,
    stage_id: Annotated[
        uuid.UUID | None, Query(alias="stageId", description="Only leads in this stage")
    ] = None,
    stage: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Only leads in the stage with this name (any case) or system key "
            "(`new`, `qualified`, `proposal`, `negotiation`, `won`, `lost`), in `pipelineId` "
            "or in any pipeline",
        ),
    ] = None,
    status: Annotated[
        list[StageKind] | None,
        Query(description="Only leads with these statuses (open, won, lost); repeat to combine"),
    ] = None,
    owner_user_id: OwnerQuery = None,
    currency: Annotated[
        str | None,
        Query(max_length=3, description="Only leads in this currency (needed for a value range)"),
    ] = None,
    value_min: Annotated[
        str | None,
        Query(alias="valueMin", max_length=40, description="Value at least this (decimal string)"),
    ] = None,
    value_max: Annotated[
        str | None,
        Query(alias="valueMax", max_length=40, description="Value at most this (decimal string)"),
    ] = None,
    close_from: Annotated[
        IsoDate | None,
        Query(alias="closeFrom", description="expectedCloseDate on or after this day"),
    ] = None,
    close_to: Annotated[
        IsoDate | None,
        Query(alias="closeTo", description="expectedCloseDate on or before this day"),
    ] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text to find in the title (any case)")
    ] = None,
    where: WhereQuery = None,
) -> ListEnvelope[LeadOut]:
    """The workspace's leads, newest first unless the sort says otherwise. Filters combine.
    A value range and a sort by value compare amounts of one currency, so `valueMin`,
    `valueMax` and `sortBy=value` need `currency`. `ownerUserId` takes a user id, `me` or
    `unassigned`."""
    query = LeadQuery(
        pipeline_id=pipeline_id,
        stage_id=stage_id,
        stage=stage,
        statuses=tuple(status or ()),
        contact_id=contact_id,
        company_id=company_id,
        owner=owner_user_id,
        currency=currency,
        value_min=value_min,
        value_max=value_max,
        close_from=close_from,
        close_to=close_to,
        created_from=created_from,
        created_to=created_to,
        search=q,
        where=where,
    )
    rows, meta = await leads.listed(query, page)
    return ListEnvelope(data=await leads.out(rows), meta=meta)


@router.post(
    "",
    status_code=201,
    summary="Create a lead",
    responses={201: {"headers": ETAG_HEADER}},
)
async def create_lead(body: LeadCreate, leads: LeadsWrite, response: Response) -> Envelope[LeadOut]:
    """Creates a lead in `stageId`, else in the first open stage of `pipelineId`, else of the
    default pipeline. Its status is its stage's kind; created in a won or lost stage it is
    closed at once (`closedAt`). `value` is a decimal string in `currency` (ISO 4217): never a
    number, not negative, no finer than the currency's minor unit. `probability` left out
    follows the stage's default. `contactId`, `companyId` and `ownerUserId` must be records of
    the workspace, and `properties` LEAD properties defined at `/properties` (422 naming the
    field otherwise). Emits `lead.created`."""
    lead = await leads.create(body)
    response.headers["Location"] = f"/api/v1/leads/{lead.id}"
    return await _one(leads, lead, response)


@router.post(
    "/batch",
    summary="Create up to 1,000 leads, each with its own result",
    responses=some_failed(BatchEnvelope[LeadOut]),
)
async def batch_create_leads(
    body: LeadBatch, leads: LeadsBulk, response: Response
) -> BatchEnvelope[LeadOut]:
    """Create each record as POST /leads would. Each record succeeds or fails alone: 200 when
    all succeeded, 207 when any failed, with one result per record in request order
    (`index`, `status` created or failed, the `record`, or the `error` the single call would
    have answered). Leads have no unique key, so there is no upsert: send the same batch twice
    with one Idempotency-Key to be safe against retries. Counts against the `bulk` rate
    limit."""
    outcomes = await leads.create_many(body.records)
    created = [outcome.record for outcome in outcomes if outcome.record is not None]
    shown = {out.id: out for out in await leads.out(created)}
    return batch_answer(outcomes, lambda lead: shown[lead.id], response)


@router.get(
    "/{lead_id}",
    summary="One lead",
    response_model=Envelope[LeadOut],
    responses={**_NOT_FOUND, **NOT_MODIFIED, 200: {"headers": ETAG_HEADER}},
)
async def get_lead(
    lead_id: LeadId, leads: LeadsRead, response: Response, if_none_match: IfNoneMatch = None
) -> Envelope[LeadOut] | Response:
    """The lead with its stage. The `ETag` identifies this version (If-None-Match gives 304
    while it is unchanged; If-Match on a PATCH or DELETE changes only this version)."""
    lead = await leads.get(lead_id)
    return not_modified(if_none_match, lead_etag(lead)) or await _one(leads, lead, response)


@router.patch(
    "/{lead_id}",
    summary="Update a lead (properties merge key by key)",
    responses=_CHANGED,
)
async def update_lead(
    lead_id: LeadId,
    body: LeadUpdate,
    leads: LeadsWrite,
    response: Response,
    if_match: IfMatch = None,
) -> Envelope[LeadOut]:
    """Changes the fields sent; `null` clears a field (`title`, `stageId` and `properties`
    cannot be null). A `stageId` moves the lead as `PATCH /leads/{id}/stage` does. The
    checks of a create apply. A body that changes nothing emits nothing; otherwise
    `lead.updated` carries each changed field. With `If-Match`, only that version changes
    (412 otherwise)."""
    return await _one(leads, await leads.update(lead_id, body, if_match), response)


@router.delete(
    "/{lead_id}",
    status_code=204,
    summary="Delete a lead",
    responses={**_NOT_FOUND, **documented_errors({412: "If-Match mismatch"})},
)
async def delete_lead(lead_id: LeadId, leads: LeadsWrite, if_match: IfMatch = None) -> Response:
    """Deletes the lead for good with its stage history; its activities stay on their contact
    and company, no longer linked to a lead. Emits `lead.deleted` with the lead as it was."""
    await leads.delete(lead_id, if_match)
    return Response(status_code=204)


@router.patch(
    "/{lead_id}/stage",
    summary="Move a lead to another stage",
    responses=_CHANGED,
)
async def move_lead(
    lead_id: LeadId,
    body: StageMove,
    leads: LeadsWrite,
    response: Response,
    if_match: IfMatch = None,
) -> Envelope[LeadOut]:
    """Moves the lead to `stageId` (a stage of another pipeline moves it to that pipeline).
    The move is recorded (from and to stage, who, when, how long the lead sat in the stage it
    left: `GET /leads/{id}/stage-history`), the status follows the stage's kind, `closedAt`
    is set on entering a won or lost stage and cleared on going back to an open one.
    `lostReason` is for a lost stage only; a lost move without one is allowed and recorded as
    such. Moving to the stage the lead is in changes nothing but a new `lostReason` (no move
    is recorded then). With `If-Match`, only that version moves (412 otherwise). Emits
    `lead.stage_changed` and `lead.updated`."""
    return await _one(leads, await leads.move(lead_id, body, if_match), response)


@router.get(
    "/{lead_id}/stage-history",
    summary="The lead's stage moves, oldest first",
    responses=_NOT_FOUND,
)
async def lead_stage_history(lead_id: LeadId, leads: LeadsRead) -> ListEnvelope[StageChangeOut]:
    """Every stage the lead entered, from its creation on: from and to stage (their names as
    they were), who moved it, when, and how long it had sat in the stage it left."""
    changes = await leads.stage_changes(lead_id)
    return ListEnvelope.whole([StageChangeOut.model_validate(c) for c in changes])


@router.get(
    "/{lead_id}/timeline",
    summary="Everything that happened to the lead, newest first",
    responses=_NOT_FOUND,
)
async def lead_timeline(
    lead_id: LeadId, leads: LeadsRead, page: TimelinePage
) -> ListEnvelope[TimelineItem]:
    """The lead's activities (calls, meetings, emails, notes, tasks) and its change events
    (creation, field changes, stage moves with `lead.stage_changed`) in one list, newest first
    or oldest first with sortOrder=asc. Each item carries `activity` or `event`, as `kind`
    says. Pages by offset only (page/limit or skip/take)."""
    items, meta = await leads.timeline(lead_id, page)
    return ListEnvelope(data=items, meta=meta)


@router.post(
    "/{lead_id}/activities",
    status_code=201,
    summary="Log an activity on a lead",
    responses=_NOT_FOUND,
)
async def log_lead_activity(
    lead_id: LeadId, body: LeadActivityCreate, leads: LeadsWrite
) -> Envelope[ActivityOut]:
    """Logs a call, meeting, email, note or task on the lead. The activity is linked to the
    lead and to its contact and company, so it shows on their timelines as well. Emits
    `activity.created`."""
    return Envelope(data=ActivityOut.of(await leads.log_activity(lead_id, body)))
