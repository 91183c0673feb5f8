"""Leads in the query language: a lead's own fields, its contact's and company's
(`contact.email`, `company.industry`), and on contacts and companies their leads'
(`lead.status = open`, `lead.value > 10000`: at least one of their leads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, Select, case, cast, func, or_, select

from rapport.companies.service import CompanyService
from rapport.contacts.service import ContactService
from rapport.kit import hooks
from rapport.kit.context import Context
from rapport.kit.cql.fields import (
    Catalog,
    Field,
    FieldType,
    Predicate,
    column_builder,
    column_field,
    through,
)
from rapport.kit.cql.tree import Op
from rapport.kit.money import uncommon_decimals
from rapport.models.leads import Lead
from rapport.models.pipelines import PipelineStage, StageKind

T = FieldType


def _amount() -> ColumnElement[Any]:
    """The lead's value in units of its currency (minor units over the currency's scale)."""
    scale = case(
        {code: 10**places for code, places in uncommon_decimals().items()},
        value=Lead.currency,
        else_=100,
    )
    return cast(Lead.value_minor, Float) / scale


def _probability() -> ColumnElement[int]:
    """The lead's own probability, else its stage's."""
    stage_default = (
        select(PipelineStage.default_probability_pct)
        .where(PipelineStage.id == Lead.stage_id)
        .scalar_subquery()
    )
    return func.coalesce(Lead.probability_pct, stage_default)


def _stage_name() -> ColumnElement[str]:
    return select(PipelineStage.name).where(PipelineStage.id == Lead.stage_id).scalar_subquery()


def _stage(op: Op, value: Any) -> Predicate:
    """A stage by its name (any case) or system key, in any pipeline."""
    if op == Op.EXISTS:
        return Lead.stage_id.is_not(None)
    names = value if isinstance(value, tuple) else (value,)
    folded = [name.lower() for name in names]
    stages = select(PipelineStage.id).where(
        or_(func.lower(PipelineStage.name).in_(folded), PipelineStage.system_key.in_(folded))
    )
    if op in (Op.EQ, Op.IN):
        return Lead.stage_id.in_(stages)
    named = column_builder(PipelineStage.name, T.TEXT)(op, value)
    return Lead.stage_id.in_(select(PipelineStage.id).where(named))


def _currency(op: Op, value: Any) -> Predicate:
    upper = tuple(v.upper() for v in value) if isinstance(value, tuple) else value
    if isinstance(upper, str):
        upper = upper.upper()
    return column_builder(Lead.currency, T.TEXT)(op, upper)


def lead_fields() -> list[Field]:
    return [
        column_field("id", "Id", Lead.id, T.ID),
        column_field("title", "Title", Lead.title, T.TEXT, 2),
        Field(
            "value",
            T.NUMBER,
            "Value (in its currency)",
            column_builder(_amount(), T.NUMBER),
            cost=2,
            writable=True,
            column=_amount(),
        ),
        Field(
            "currency", T.TEXT, "Currency", _currency, cost=2, writable=True, column=Lead.currency
        ),
        Field(
            "probability",
            T.NUMBER,
            "Probability (%)",
            column_builder(_probability(), T.NUMBER),
            cost=3,
            writable=True,
            column=_probability(),
        ),
        Field(
            "status",
            T.CHOICE,
            "Status",
            column_builder(Lead.status, T.CHOICE),
            options=tuple(kind.value for kind in StageKind),
            writable=True,
            column=Lead.status,
        ),
        Field(
            "stage",
            T.TEXT,
            "Stage (name or system key)",
            _stage,
            cost=2,
            writable=True,
            column=_stage_name(),
        ),
        column_field("stageId", "Stage id", Lead.stage_id, T.ID),
        column_field("pipelineId", "Pipeline", Lead.pipeline_id, T.ID),
        column_field("contactId", "Contact", Lead.contact_id, T.ID),
        column_field("companyId", "Company", Lead.company_id, T.ID),
        column_field("ownerUserId", "Owner", Lead.owner_user_id, T.ID),
        column_field("source", "Source", Lead.source, T.TEXT, 2),
        column_field(
            "expectedCloseDate", "Expected close date", Lead.expected_close_date, T.DATE, 2
        ),
        column_field("closedAt", "Closed", Lead.closed_at, T.DATETIME),
        column_field("stageEnteredAt", "In its stage since", Lead.stage_entered_at, T.DATETIME, 2),
        column_field("createdAt", "Created", Lead.created_at, T.DATETIME),
        column_field("updatedAt", "Updated", Lead.updated_at, T.DATETIME, 2),
    ]


def _leads_by(column: Any) -> Any:
    def related(condition: ColumnElement[bool]) -> Select[Any]:
        return select(column).where(column.is_not(None), condition)

    return related


def _leads_of(column: Any, catalog: Catalog) -> Any:
    def related(condition: ColumnElement[bool]) -> Select[Any]:
        return select(Lead.id).where(column.in_(select(catalog.id_column).where(condition)))

    return related


async def of_leads(context: Context, nested: bool) -> list[Field]:
    """A lead's own fields, and (not nested) its contact's (`contact.*`) and company's
    (`company.*`)."""
    if nested:
        return lead_fields()
    contacts = await ContactService(context).query_catalog(nested=True)
    companies = await CompanyService(context).query_catalog(nested=True)
    return lead_fields() + [
        through(prefix, item, catalog.id_column, _leads_of(column, catalog), label)
        for prefix, catalog, column, label in (
            ("contact", contacts, Lead.contact_id, "Contact"),
            ("company", companies, Lead.company_id, "Company"),
        )
        for item in catalog.fields.values()
    ]


async def of_contacts(context: Context, nested: bool) -> list[Field]:
    if nested:
        return []
    return [
        through("lead", item, Lead.id, _leads_by(Lead.contact_id), "Any lead")
        for item in await hooks.query_fields(context, "lead", nested=True)
    ]


async def of_companies(context: Context, nested: bool) -> list[Field]:
    if nested:
        return []
    return [
        through("lead", item, Lead.id, _leads_by(Lead.company_id), "Any lead")
        for item in await hooks.query_fields(context, "lead", nested=True)
    ]
