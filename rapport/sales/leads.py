"""Lead rules: a lead sits in one stage of one pipeline and takes its status from the stage's
kind; every move is recorded (from, to, who, when, how long it sat); money is exact; links
point at records of the workspace; the lead outlives its contact and company."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import ColumnElement, Select, and_

from rapport.activities.schemas import ActivityLog
from rapport.activities.service import ActivityService
from rapport.auth.service import owner_filter
from rapport.companies.service import CompanyService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder
from rapport.kit import hooks
from rapport.kit.batch import BatchStatus, Outcome, validated
from rapport.kit.context import Context
from rapport.kit.cql.fields import Catalog
from rapport.kit.cql.query import where_condition
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    NotFound,
    field_error,
    query_error,
    query_value,
)
from rapport.kit.etag import ensure_match, etag_for
from rapport.kit.hooks import Links
from rapport.kit.money import currency_code, to_amount, to_minor
from rapport.kit.normalize import clean, not_blank
from rapport.kit.pagination import PageRequest
from rapport.models.activities import Activity, ActivityType
from rapport.models.leads import Lead, LeadStageChange
from rapport.models.pipelines import PipelineStage, StageKind
from rapport.models.properties import PropertyEntity
from rapport.overview.schemas import TimelineItem
from rapport.overview.service import Overview
from rapport.properties.service import PropertyRules
from rapport.sales.figures import ClosedLeadGroup, OpenLeadGroup, StageExits
from rapport.sales.lead_schemas import (
    LeadActivityCreate,
    LeadCreate,
    LeadOut,
    LeadUpdate,
    StageMove,
    StageRefOut,
)
from rapport.sales.repository import LeadFilters, LeadRepository
from rapport.sales.service import PipelineService
from rapport.tenancy.service import checked_owner

LEAD_ACTIVITY_TYPES = frozenset(
    {
        ActivityType.CALL,
        ActivityType.MEETING,
        ActivityType.EMAIL,
        ActivityType.NOTE,
        ActivityType.TASK,
    }
)
_PLAIN_FIELDS = ("title", "owner_user_id", "expected_close_date", "source", "probability_pct")


def lead_etag(lead: Lead) -> str:
    return etag_for(lead.id, lead.version)


def lead_out(lead: Lead, stage: PipelineStage) -> LeadOut:
    probability = (
        lead.probability_pct if lead.probability_pct is not None else stage.default_probability_pct
    )
    value = weighted = None
    if lead.value_minor is not None and lead.currency is not None:
        value = to_amount(lead.value_minor, lead.currency)
        weighted = to_amount(lead.value_minor * probability // 100, lead.currency)
    return LeadOut(
        id=lead.id,
        title=lead.title,
        value=value,
        currency=lead.currency,
        probability=probability,
        probability_is_default=lead.probability_pct is None,
        weighted_value=weighted,
        status=lead.status,
        pipeline_id=lead.pipeline_id,
        stage_id=lead.stage_id,
        stage=StageRefOut.model_validate(stage),
        stage_entered_at=lead.stage_entered_at,
        contact_id=lead.contact_id,
        company_id=lead.company_id,
        owner_user_id=lead.owner_user_id,
        expected_close_date=lead.expected_close_date,
        source=lead.source,
        closed_at=lead.closed_at,
        lost_reason=lead.lost_reason,
        properties=lead.properties,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


@dataclass(frozen=True)
class LeadQuery:
    """The filters of the lead list as the query gives them (amounts and currency as
    written: the service reads them)."""

    pipeline_id: uuid.UUID | None = None
    stage_id: uuid.UUID | None = None
    stage: str | None = None
    statuses: tuple[StageKind, ...] = ()
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    owner: str | None = None
    currency: str | None = None
    value_min: str | None = None
    value_max: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None
    where: str | None = None
    """A condition in the query language's text form."""
    matching: ColumnElement[bool] | None = None
    """A condition compiled from the query language (`query_catalog`)."""


class LeadService:
    sort_fields = tuple(LeadRepository.sort_columns)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.repo = LeadRepository(context.session)
        self.pipelines = PipelineService(context)
        self.rules = PropertyRules(context)
        self.events = EventRecorder(context)

    # --- reading ---------------------------------------------------------------------------

    async def get(self, lead_id: uuid.UUID) -> Lead:
        lead = await self.repo.get(lead_id)
        if lead is None:
            raise NotFound("Lead not found")
        return lead

    def export_rows(self, columns: Sequence[Any], matching: ColumnElement[bool]) -> Select[Any]:
        """The columns (of a query catalogue's fields) of the leads meeting a compiled query
        condition, in id order: what an export streams."""
        return self.repo.rows_where(columns, matching)

    async def query_catalog(self) -> Catalog:
        """What the query language can ask of a lead in this workspace: its fields, its
        custom properties, its contact's and its company's."""
        fields = await hooks.query_fields(self.context, "lead")
        return Catalog.of("lead", Lead.id, fields, Lead.properties)

    async def listed(self, query: LeadQuery, page: PageRequest) -> tuple[list[Lead], PageMeta]:
        """A page of the leads the list query names. Amounts compare within one currency: a
        value range or a sort by value without `currency` is a 400."""
        code = (
            query_value("currency", query.currency, currency_code)
            if query.currency is not None
            else None
        )
        if (query.value_min is not None or query.value_max is not None) and code is None:
            raise query_error("currency", "A value range needs the currency it is in")
        if page.sort.field == "value" and code is None:
            raise query_error(
                "currency", "Sorting by value compares amounts of one currency: add it"
            )
        filters = LeadFilters(
            pipeline_id=query.pipeline_id,
            stage_ids=await self.stage_filter(query.pipeline_id, query.stage_id, query.stage),
            statuses=query.statuses,
            contact_id=query.contact_id,
            company_id=query.company_id,
            currency=code,
            value_min=_bound("valueMin", query.value_min, code),
            value_max=_bound("valueMax", query.value_max, code),
            close_from=query.close_from,
            close_to=query.close_to,
            created_from=query.created_from,
            created_to=query.created_to,
            search=query.search,
            matching=await self._matching(query),
            **await owner_filter(self.context, query.owner),
        )
        return await self.repo.page(filters, page)

    async def _matching(self, query: LeadQuery) -> ColumnElement[bool] | None:
        if query.where is None:
            return query.matching
        where = await where_condition(self.context, self.query_catalog(), query.where)
        return where if query.matching is None else and_(query.matching, where)

    async def out(self, leads: Iterable[Lead]) -> list[LeadOut]:
        leads = list(leads)
        pipelines = list({lead.pipeline_id for lead in leads})
        stages = {stage.id: stage for stage in await self.pipelines.stages_of(pipelines)}
        return [lead_out(lead, stages[lead.stage_id]) for lead in leads]

    async def one_out(self, lead: Lead) -> LeadOut:
        return (await self.out([lead]))[0]

    async def stage_filter(
        self, pipeline_id: uuid.UUID | None, stage_id: uuid.UUID | None, stage: str | None
    ) -> tuple[uuid.UUID, ...] | None:
        """The stage ids the list's `stageId` / `stage` (a stage name or system key, in the
        named pipeline or else in any) filters name; None when neither is given."""
        if stage_id is None and stage is None:
            return None
        ids: set[uuid.UUID] | None = {stage_id} if stage_id is not None else None
        if stage is not None:
            pipelines = (
                [pipeline_id]
                if pipeline_id is not None
                else [p.id for p in await self.pipelines.pipelines.all()]
            )
            named = set()
            for pid in pipelines:
                found = await self.pipelines.stage_by_name(pid, stage)
                if found is not None:
                    named.add(found.id)
            ids = named if ids is None else ids & named
        return tuple(ids or ())

    # --- writing ---------------------------------------------------------------------------

    async def create(self, data: LeadCreate) -> Lead:
        title = not_blank(data.title, "title")
        stage = await self._initial_stage(data.pipeline_id, data.stage_id)
        value_minor, currency = _money(data.value, data.currency)
        lost_reason = _lost_reason(stage, clean(data.lost_reason))
        lead = Lead(
            title=title,
            value_minor=value_minor,
            currency=currency,
            probability_pct=data.probability,
            contact_id=await self._contact(data.contact_id),
            company_id=await self._company(data.company_id),
            owner_user_id=await checked_owner(self.context, data.owner_user_id),
            expected_close_date=data.expected_close_date,
            source=clean(data.source),
            properties=await self.rules.checked(
                PropertyEntity.LEAD, data.properties, creating=True
            ),
            pipeline_id=stage.pipeline_id,
            stage_id=stage.id,
        )
        self._enter(lead, None, stage, lost_reason)
        self.repo.add(lead)
        await self.repo.flush()
        self._record_entry(lead, None, stage, None)
        await self.rules.store(PropertyEntity.LEAD, lead.id, {}, lead.properties)
        await self._emit("lead.created", lead, stage)
        return lead

    async def create_many(self, records: Sequence[Any]) -> list[Outcome[Lead]]:
        """Create each record as `create` does; a refused record fails alone (every refusal
        comes before its lead is written)."""
        outcomes: list[Outcome[Lead]] = []
        for item in validated(LeadCreate, records):
            try:
                if isinstance(item, AppError):
                    raise item
                outcomes.append(Outcome(BatchStatus.CREATED, await self.create(item)))
            except AppError as exc:
                outcomes.append(Outcome.failed(exc))
        return outcomes

    async def update(
        self, lead_id: uuid.UUID, patch: LeadUpdate, if_match: str | None = None
    ) -> Lead:
        lead = await self.get(lead_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        for field in ("title", "stage_id", "properties"):
            if field in sent and getattr(patch, field) is None:
                raise field_error(to_camel(field), "Cannot be null")
        entering = None
        if "stage_id" in sent and patch.stage_id is not None:
            entering = await self._hold_entering(lead, patch.stage_id)
        else:
            await self.repo.lock_row(lead)
        ensure_match(if_match, lead_etag(lead))
        stage = await self.pipelines.current_stage(lead.stage_id)
        before = lead_out(lead, stage).model_dump(mode="json", by_alias=True)
        changes: dict[str, Any] = {}
        if "title" in sent:
            changes["title"] = not_blank(patch.title, "title")
        if "owner_user_id" in sent:
            changes["owner_user_id"] = await checked_owner(self.context, patch.owner_user_id)
        if "contact_id" in sent:
            changes["contact_id"] = await self._contact(patch.contact_id)
        if "company_id" in sent:
            changes["company_id"] = await self._company(patch.company_id)
        if "expected_close_date" in sent:
            changes["expected_close_date"] = patch.expected_close_date
        if "source" in sent:
            changes["source"] = clean(patch.source)
        if "probability" in sent:
            changes["probability_pct"] = patch.probability
        if "value" in sent or "currency" in sent:
            amount = patch.value if "value" in sent else _amount_of(lead)
            code = patch.currency if "currency" in sent else lead.currency
            changes["value_minor"], changes["currency"] = _money(amount, code)
        if "properties" in sent:
            changes["properties"] = await self.rules.merged(
                PropertyEntity.LEAD, lead.properties, patch.properties
            )
        target = entering or stage
        if "lost_reason" in sent:
            changes["lost_reason"] = _lost_reason(target, clean(patch.lost_reason))
        old_properties = lead.properties
        for field, value in changes.items():
            setattr(lead, field, value)
        seconds = None
        if target is not stage:
            seconds = self._enter(lead, stage, target, lead.lost_reason)
        after = lead_out(lead, target).model_dump(mode="json", by_alias=True)
        if after == before:
            return lead
        await self.repo.flush()
        if target is not stage:
            self._record_entry(lead, stage, target, seconds)
        await self.rules.store(PropertyEntity.LEAD, lead.id, old_properties, lead.properties)
        await self._emit("lead.updated", lead, target, before)
        return lead

    async def move(self, lead_id: uuid.UUID, data: StageMove, if_match: str | None = None) -> Lead:
        """Move the lead to a stage (of its pipeline or another: it follows the stage). To
        the stage it is in, only a new lost reason changes something (and no move is
        recorded)."""
        lead = await self.get(lead_id)
        target = await self._hold_entering(lead, data.stage_id)
        ensure_match(if_match, lead_etag(lead))
        lost_reason = _lost_reason(target, clean(data.lost_reason))
        stage = await self.pipelines.current_stage(lead.stage_id)
        before = lead_out(lead, stage).model_dump(mode="json", by_alias=True)
        if target is stage:
            if lost_reason is None or lost_reason == lead.lost_reason:
                return lead
            lead.lost_reason = lost_reason
        else:
            seconds = self._enter(lead, stage, target, lost_reason)
        await self.repo.flush()
        if target is not stage:
            self._record_entry(lead, stage, target, seconds)
        await self._emit("lead.updated", lead, target, before)
        return lead

    async def delete(self, lead_id: uuid.UUID, if_match: str | None = None) -> None:
        lead = await self.get(lead_id)
        await self.repo.lock_row(lead)
        ensure_match(if_match, lead_etag(lead))
        record = (await self.one_out(lead)).model_dump(mode="json", by_alias=True)
        await self.context.session.delete(lead)
        await self.repo.flush()
        await self.rules.forget(lead_id)
        self.events.record("lead.deleted", "lead", lead_id, {"record": record})

    async def log_activity(self, lead_id: uuid.UUID, data: LeadActivityCreate) -> Activity:
        """An activity of the lead, linked to its contact and company as well (so it shows on
        their timelines)."""
        lead = await self.get(lead_id)
        if data.type not in LEAD_ACTIVITY_TYPES:
            raise field_error("type", "One of call, meeting, email, note, task")
        return await ActivityService(self.context).log(
            ActivityLog(
                type=data.type,
                subject=data.subject,
                content=data.body,
                occurred_at=data.occurred_at,
                lead_id=lead.id,
            )
        )

    async def timeline(
        self, lead_id: uuid.UUID, page: PageRequest
    ) -> tuple[list[TimelineItem], PageMeta]:
        """The lead's activities and change events, as a contact's timeline shows its own."""
        lead = await self.get(lead_id)
        return await Overview(self.context).records_timeline("lead", [lead.id], page)

    async def stage_changes(self, lead_id: uuid.UUID) -> list[LeadStageChange]:
        await self.get(lead_id)
        return await self.repo.stage_changes(lead_id)

    async def delete_stage(self, stage_id: uuid.UUID, move_leads_to: uuid.UUID | None) -> None:
        """Delete a stage; its leads move to `move_leads_to` (another stage of the pipeline),
        which is required while leads sit in it."""
        await self.pipelines.lock((await self.pipelines.stage(stage_id)).pipeline_id)
        stage = await self.pipelines.current_stage(stage_id)
        await self.pipelines.check_deletable(stage)
        leads = await self.repo.in_stage(stage.id)
        if move_leads_to is not None:
            target = await self.pipelines.current_stage(move_leads_to, "moveLeadsTo")
            if target.pipeline_id != stage.pipeline_id or target.id == stage.id:
                raise field_error("moveLeadsTo", "Another stage of the same pipeline")
            for lead in leads:
                await self.repo.lock_row(lead)
                before = lead_out(lead, stage).model_dump(mode="json", by_alias=True)
                seconds = self._enter(lead, stage, target, None)
                await self.repo.flush()
                self._record_entry(lead, stage, target, seconds)
                await self._emit("lead.updated", lead, target, before)
        elif leads:
            raise Conflict(
                f"{len(leads)} lead(s) sit in this stage; name another stage of the pipeline in "
                "moveLeadsTo to move them there",
                code="STAGE_HAS_LEADS",
                details=[
                    ErrorDetail(
                        field="moveLeadsTo",
                        message="Name another stage of the pipeline for the stage's leads",
                    )
                ],
            )
        await self.pipelines.delete_stage(stage)

    # --- links with other domains ----------------------------------------------------------

    async def links(self, lead_id: uuid.UUID) -> Links | None:
        lead = await self.repo.get(lead_id)
        return None if lead is None else Links(lead.contact_id, lead.company_id)

    async def release(self, field: str, record_id: uuid.UUID) -> None:
        """Before a contact or company is deleted: its leads stay, the link is cleared, and
        the change is recorded on each lead's timeline (`lead.updated`)."""
        leads = await (
            self.repo.of_contact(record_id)
            if field == "contact_id"
            else self.repo.of_company(record_id)
        )
        for lead in leads:
            stage = await self.pipelines.stage(lead.stage_id)
            before = lead_out(lead, stage).model_dump(mode="json", by_alias=True)
            setattr(lead, field, None)
            await self.repo.flush()
            await self._emit("lead.updated", lead, stage, before)

    async def of_contacts(self, contact_ids: Iterable[uuid.UUID]) -> list[Lead]:
        return [lead for i in contact_ids for lead in await self.repo.of_contact(i)]

    async def move_contact(self, loser_id: uuid.UUID, winner_id: uuid.UUID) -> int:
        """A merge: the loser's leads now belong to the winner; how many moved."""
        leads = await self.repo.of_contact(loser_id)
        for lead in leads:
            lead.contact_id = winner_id
        await self.repo.flush()
        return len(leads)

    # --- inside ----------------------------------------------------------------------------

    async def _initial_stage(
        self, pipeline_id: uuid.UUID | None, stage_id: uuid.UUID | None
    ) -> PipelineStage:
        """The stage a new lead enters, read again once its pipeline is locked."""
        if stage_id is not None:
            stage = await self.pipelines.stage_named(stage_id)
            if pipeline_id is not None and stage.pipeline_id != pipeline_id:
                await self.pipelines.named(pipeline_id)
                raise field_error("stageId", "Not a stage of the pipeline named in pipelineId")
        else:
            stage = await self.pipelines.first_open_stage(await self.pipelines.named(pipeline_id))
        await self.pipelines.lock(stage.pipeline_id)
        return await self.pipelines.current_stage(stage.id, "stageId")

    async def _hold_entering(self, lead: Lead, stage_id: uuid.UUID) -> PipelineStage:
        """Lock what moving the lead touches, always in the same order (the pipelines it leaves
        and enters, then the lead itself: as a stage's deletion does), and load the lead
        again as committed; the stage it is to enter, read again."""
        target = await self.pipelines.stage_named(stage_id)
        await self.pipelines.lock(lead.pipeline_id, target.pipeline_id)
        await self.repo.lock_row(lead)
        return await self.pipelines.current_stage(stage_id, "stageId")

    def _enter(
        self,
        lead: Lead,
        current: PipelineStage | None,
        stage: PipelineStage,
        lost_reason: str | None,
    ) -> int | None:
        """Put the lead in `stage` (from `current`, None when it is being created); how long
        it sat in `current`, in seconds."""
        now = self.context.clock()
        seconds = None if current is None else int((now - lead.stage_entered_at).total_seconds())
        lead.pipeline_id = stage.pipeline_id
        lead.stage_id = stage.id
        lead.status = stage.kind
        lead.stage_entered_at = now
        if stage.kind == StageKind.OPEN:
            lead.closed_at = None
        elif current is None or current.kind != stage.kind or lead.closed_at is None:
            lead.closed_at = now
        lead.lost_reason = lost_reason if stage.kind == StageKind.LOST else None
        return seconds

    def _record_entry(
        self,
        lead: Lead,
        current: PipelineStage | None,
        stage: PipelineStage,
        seconds: int | None,
    ) -> None:
        self.repo.add_stage_change(
            LeadStageChange(
                lead_id=lead.id,
                pipeline_id=stage.pipeline_id,
                from_stage_id=current.id if current else None,
                from_stage_name=current.name if current else None,
                to_stage_id=stage.id,
                to_stage_name=stage.name,
                to_kind=stage.kind,
                seconds_in_from_stage=seconds,
                lost_reason=lead.lost_reason,
                actor_type=self.context.actor.type,
                actor_id=self.context.actor.id,
                changed_at=lead.stage_entered_at,
            )
        )
        if current is not None:
            self.events.record(
                "lead.stage_changed",
                "lead",
                lead.id,
                {
                    "fromStage": {
                        "id": str(current.id),
                        "name": current.name,
                        "kind": current.kind.value,
                    },
                    "toStage": {"id": str(stage.id), "name": stage.name, "kind": stage.kind.value},
                    "secondsInFromStage": seconds,
                    "lostReason": lead.lost_reason,
                    "lostReasonGiven": lead.lost_reason is not None
                    if stage.kind == StageKind.LOST
                    else None,
                },
            )

    async def _contact(self, contact_id: uuid.UUID | None) -> uuid.UUID | None:
        if contact_id is None:
            return None
        try:
            return (await ContactService(self.context).get(str(contact_id))).id
        except NotFound as exc:
            raise field_error("contactId", "No such contact in this workspace") from exc

    async def _company(self, company_id: uuid.UUID | None) -> uuid.UUID | None:
        if company_id is not None and not await CompanyService(self.context).exists(company_id):
            raise field_error("companyId", "No such company in this workspace")
        return company_id

    async def _emit(
        self,
        event_type: str,
        lead: Lead,
        stage: PipelineStage,
        before: dict[str, Any] | None = None,
    ) -> None:
        record = lead_out(lead, stage).model_dump(mode="json", by_alias=True)
        self.events.record_change(event_type, "lead", lead.id, record, before)

    # --- figures ---------------------------------------------------------------------------

    async def open_groups(
        self,
        pipeline_id: uuid.UUID | None,
        owner_user_id: uuid.UUID | None = None,
        unassigned: bool = False,
    ) -> list[OpenLeadGroup]:
        """The open leads now (of one pipeline or of all, of one owner, of none or of anyone),
        counted and summed by stage and currency."""
        return await self.repo.open_groups(
            LeadFilters(pipeline_id=pipeline_id, owner_user_id=owner_user_id, unassigned=unassigned)
        )

    async def closed_groups(
        self,
        start: datetime,
        end: datetime,
        pipeline_id: uuid.UUID | None,
        owner_user_id: uuid.UUID | None = None,
        unassigned: bool = False,
    ) -> list[ClosedLeadGroup]:
        """The leads closed between `start` and `end` (both included) that are won or lost
        now, counted and summed by status and currency."""
        return await self.repo.closed_groups(
            LeadFilters(
                pipeline_id=pipeline_id, owner_user_id=owner_user_id, unassigned=unassigned
            ),
            start,
            end,
        )

    async def stage_exits(
        self,
        stage_ids: list[uuid.UUID],
        start: datetime,
        end: datetime,
        owner_user_id: uuid.UUID | None = None,
        unassigned: bool = False,
    ) -> list[StageExits]:
        """The moves out of these stages recorded between `start` and `end` (both included):
        how many per stage, and the seconds the leads had sat in it."""
        return await self.repo.stage_exits(
            LeadFilters(owner_user_id=owner_user_id, unassigned=unassigned), stage_ids, start, end
        )


def _bound(field: str, amount: str | None, currency: str | None) -> int | None:
    """A bound of a value range, in the currency's minor units (400 on `field` if malformed)."""
    if amount is None or currency is None:
        return None
    return query_value(field, amount, lambda text: to_minor(text, currency, field))


def _money(amount: str | None, currency: str | None) -> tuple[int | None, str | None]:
    """The value in minor units and the currency code; a currency alone is kept (the value
    is set later), a value needs a currency."""
    code = currency_code(currency) if currency is not None else None
    if amount is None:
        return None, code
    if code is None:
        raise field_error("currency", "Required with a value (an ISO 4217 code such as USD)")
    return to_minor(amount, code), code


def _amount_of(lead: Lead) -> str | None:
    if lead.value_minor is None or lead.currency is None:
        return None
    return to_amount(lead.value_minor, lead.currency)


def _lost_reason(stage: PipelineStage, reason: str | None) -> str | None:
    if reason is not None and stage.kind != StageKind.LOST:
        raise field_error("lostReason", "Only for a lead in a lost stage")
    return reason
