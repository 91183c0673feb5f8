"""Wire shapes of the dashboard."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from rapport.kit.schemas import WireModel

_AMOUNT_DOC = "A decimal string with the currency's decimals (2 for USD, 0 for JPY)"
_KIND_DOC = "What sitting in the stage means: open, won or lost"
_BY_TYPE_EXAMPLE = {
    "NOTE": 4,
    "CALL": 9,
    "MEETING": 3,
    "EMAIL": 7,
    "TASK": 0,
    "PAGE_VIEW": 0,
    "CUSTOM_EVENT": 0,
}
_TASKS_EXAMPLE = {"dueInPeriod": 3, "overdue": 1, "noDueDate": 2}


class Period(WireModel):
    start: datetime = Field(
        alias="from", description="Start of the period, included", examples=["2026-11-01T00:00:00Z"]
    )
    end: datetime = Field(
        alias="to", description="End of the period, included", examples=["2026-11-30T23:59:59Z"]
    )


class CurrencyAmount(WireModel):
    """Leads of one currency that carry a value (amounts of different currencies are never
    added together)."""

    currency: str = Field(description="ISO 4217 code", examples=["EUR"])
    count: int = Field(description="Leads with a value in this currency", examples=[4])
    value: str = Field(description="Their values added up. " + _AMOUNT_DOC, examples=["84000.00"])


class WeightedAmount(CurrencyAmount):
    weighted_value: str = Field(
        description="Each value times its lead's probability / 100 (the lead's own probability, "
        "else its stage's default), rounded down as on the lead, added up. " + _AMOUNT_DOC,
        examples=["31500.00"],
    )


class StageOpenLeads(WireModel):
    stage_id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str = Field(examples=["Proposal"])
    kind: str = Field(description=_KIND_DOC, examples=["open"])
    count: int = Field(
        description="Open leads in the stage now, with or without a value", examples=[12]
    )
    amounts: list[WeightedAmount] = Field(description="By currency, in code order")


class OpenPipeline(WireModel):
    stages: list[StageOpenLeads] = Field(
        description="Every stage of the pipeline (of every pipeline when none is named: the "
        "pipelines in their order), in order; won and lost stages hold no open lead"
    )
    count: int = Field(description="Open leads in all these stages", examples=[31])
    totals: list[WeightedAmount] = Field(description="All stages together, by currency")


class ClosedLeads(WireModel):
    count: int = Field(description="Leads, with or without a value", examples=[5])
    amounts: list[CurrencyAmount] = Field(description="By currency, in code order")


class StageTime(WireModel):
    stage_id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str = Field(examples=["Proposal"])
    kind: str = Field(description=_KIND_DOC, examples=["open"])
    exits: int = Field(
        description="Moves of a lead out of this stage recorded in the period", examples=[9]
    )
    average_days: float | None = Field(
        description="How long those leads had sat in the stage, in days (2 decimals), on "
        "average; null when none left it in the period",
        examples=[6.25],
    )


class MyActivities(WireModel):
    count: int = Field(description="Activities of every type", examples=[23])
    by_type: dict[str, int] = Field(
        description="How many of each type (every type is listed, 0 for none)",
        examples=[_BY_TYPE_EXAMPLE],
    )


class MyTasks(WireModel):
    due_in_period: int = Field(
        description="Due within the period and not overdue (not before now)",
        examples=[_TASKS_EXAMPLE["dueInPeriod"]],
    )
    overdue: int = Field(
        description="Due before now, whatever the period", examples=[_TASKS_EXAMPLE["overdue"]]
    )
    no_due_date: int = Field(examples=[_TASKS_EXAMPLE["noDueDate"]])


class Dashboard(WireModel):
    period: Period = Field(description="The period the figures of the period cover")
    user_id: uuid.UUID | None = Field(
        description="The user behind the credential, whom `myActivities` and `myTasks` are "
        "about: the signed-in user, or the user who created the API key. Null for a key made on "
        "the command line, and then `myActivities` and `myTasks` are null too",
        examples=["0193a0e4-5b7c-7d3e-9f10-2a4b6c8d0e1f"],
    )
    open_pipeline: OpenPipeline = Field(
        description="The open leads now, stage by stage (the period does not apply)"
    )
    won: ClosedLeads = Field(description="Leads closed in the period that are won")
    lost: ClosedLeads = Field(description="Leads closed in the period that are lost")
    win_rate: float | None = Field(
        description="won / (won + lost), from 0 to 1 with 4 decimals; null when no lead was "
        "closed in the period",
        examples=[0.625],
    )
    average_days_in_stage: list[StageTime] = Field(
        description="For every stage, in the order of `openPipeline.stages`, how long the leads "
        "that left it in the period had sat in it"
    )
    average_sales_cycle_days: float | None = Field(
        description="From creation to closing, in days (2 decimals), on average over the leads "
        "won in the period; null when none",
        examples=[41.5],
    )
    my_activities: MyActivities | None = Field(
        description="Activities that occurred in the period and that your user logged (signed "
        "in, or through an API key it created); null when no user is behind the credential",
        examples=[{"count": sum(_BY_TYPE_EXAMPLE.values()), "byType": _BY_TYPE_EXAMPLE}],
    )
    my_tasks: MyTasks | None = Field(
        description="Tasks assigned to your user that are open or in progress; null when no "
        "user is behind the credential",
        examples=[_TASKS_EXAMPLE],
    )
    new_contacts: int = Field(
        description="Contacts created in the period that are neither deleted nor merged",
        examples=[48],
    )
    new_companies: int = Field(description="Companies created in the period", examples=[7])
