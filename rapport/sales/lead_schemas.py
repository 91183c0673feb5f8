"""Wire shapes of leads, their stage moves and their timeline."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from rapport.kit.batch import BatchCreate
from rapport.kit.schemas import InputModel, IsoDate, UtcDateTime, WireModel, not_null
from rapport.models.activities import ActivityType
from rapport.models.pipelines import StageKind

_SAMPLE_ID = "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"
_VALUE_DOC = (
    "A decimal string (never a number, so no precision is lost), not negative, with at most "
    "the currency's decimals (2 for USD, 0 for JPY)"
)
_CURRENCY_DOC = "ISO 4217 code, any case; required with a value"
_PROBABILITY_DOC = "0-100; null follows the stage's default probability"
_PROPERTIES_DOC = (
    "Custom properties by key, each checked against the workspace's LEAD definitions "
    "(see /api/v1/properties)"
)
_LOST_REASON_DOC = "Why the lead was lost (kept while it sits in a lost stage)"


class StageRefOut(WireModel):
    id: uuid.UUID
    name: str = Field(examples=["Proposal"])
    kind: StageKind
    system_key: str | None = Field(examples=["proposal"])


class LeadOut(WireModel):
    id: uuid.UUID
    title: str = Field(examples=["Acme: 40 seats of Growth"])
    value: str | None = Field(description="Decimal string", examples=["12500.00"])
    currency: str | None = Field(examples=["USD"])
    probability: int = Field(
        description="The lead's own probability, else its stage's default", examples=[50]
    )
    probability_is_default: bool = Field(
        description="True when `probability` comes from the stage (the lead sets none)"
    )
    weighted_value: str | None = Field(
        description="value x probability / 100, in the currency's decimals", examples=["6250.00"]
    )
    status: StageKind = Field(description="The kind of the stage the lead sits in")
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage: StageRefOut
    stage_entered_at: datetime = Field(description="When the lead entered its current stage")
    contact_id: uuid.UUID | None
    company_id: uuid.UUID | None
    owner_user_id: uuid.UUID | None
    expected_close_date: date | None = Field(examples=["2026-12-15"])
    source: str | None = Field(examples=["Website"])
    closed_at: datetime | None = Field(description="When it moved to a won or lost stage")
    lost_reason: str | None = Field(description=_LOST_REASON_DOC, examples=["Chose a competitor"])
    properties: dict[str, Any] = Field(examples=[{"seats": 40}])
    created_at: datetime
    updated_at: datetime


class LeadCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Pinecrest: fleet tracking pilot",
                    "value": "18000.00",
                    "currency": "EUR",
                    "contactId": _SAMPLE_ID,
                    "companyId": _SAMPLE_ID,
                    "ownerUserId": _SAMPLE_ID,
                    "expectedCloseDate": "2026-12-15",
                    "source": "Referral",
                }
            ]
        }
    )

    title: str = Field(min_length=1, max_length=300, examples=["Acme: 40 seats of Growth"])
    value: str | None = Field(default=None, max_length=40, description=_VALUE_DOC)
    currency: str | None = Field(default=None, max_length=3, description=_CURRENCY_DOC)
    probability: int | None = Field(default=None, ge=0, le=100, description=_PROBABILITY_DOC)
    pipeline_id: uuid.UUID | None = Field(
        default=None,
        description="Left out: the stage's pipeline, or the default pipeline",
    )
    stage_id: uuid.UUID | None = Field(
        default=None, description="Left out: the pipeline's first open stage"
    )
    contact_id: uuid.UUID | None = Field(
        default=None,
        description="A contact of this workspace; a merged contact's id names the contact it "
        "was merged into",
    )
    company_id: uuid.UUID | None = Field(default=None, description="A company of this workspace")
    owner_user_id: uuid.UUID | None = Field(default=None, description="A user of the workspace")
    expected_close_date: IsoDate | None = Field(default=None, description="YYYY-MM-DD")
    source: str | None = Field(
        default=None, max_length=100, description="Where the lead came from; free text"
    )
    lost_reason: str | None = Field(
        default=None, max_length=2000, description=_LOST_REASON_DOC + "; only in a lost stage"
    )
    properties: dict[str, Any] = Field(default_factory=dict, description=_PROPERTIES_DOC)


class LeadUpdate(InputModel):
    """Only the fields sent change; `null` clears a field. `properties` merge key by key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"value": "21000.00", "currency": "EUR", "probability": 60}]
        }
    )

    title: str | None = Field(
        default=None, json_schema_extra=not_null, min_length=1, max_length=300
    )
    value: str | None = Field(default=None, max_length=40, description=_VALUE_DOC)
    currency: str | None = Field(default=None, max_length=3, description=_CURRENCY_DOC)
    probability: int | None = Field(default=None, ge=0, le=100, description=_PROBABILITY_DOC)
    stage_id: uuid.UUID | None = Field(
        default=None,
        json_schema_extra=not_null,
        description="Moves the lead, as PATCH /leads/{id}/stage does (a stage of any pipeline "
        "of the workspace: the lead follows it to its pipeline)",
    )
    contact_id: uuid.UUID | None = Field(default=None, description="A contact of this workspace")
    company_id: uuid.UUID | None = Field(default=None, description="A company of this workspace")
    owner_user_id: uuid.UUID | None = Field(default=None, description="A user of the workspace")
    expected_close_date: IsoDate | None = Field(default=None, description="YYYY-MM-DD")
    source: str | None = Field(default=None, max_length=100)
    lost_reason: str | None = Field(
        default=None, max_length=2000, description=_LOST_REASON_DOC + "; only in a lost stage"
    )
    properties: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra=not_null,
        description=_PROPERTIES_DOC + "; merged key by key (a key sent as null is removed)",
    )


class StageMove(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stageId": _SAMPLE_ID}]})

    stage_id: uuid.UUID = Field(
        description="The stage to move to; a stage of another pipeline moves the lead there"
    )
    lost_reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Why it was lost, for a move to a lost stage (a lost move without one is "
        "allowed and recorded as such)",
    )


class LeadActivityCreate(InputModel):
    """An activity logged on a lead: linked to the lead and to its contact and company."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "CALL",
                    "subject": "Discovery call",
                    "body": "Fleet of 120 trucks; wants a pilot in January.",
                    "occurredAt": "2026-11-28T15:00:00Z",
                }
            ]
        }
    )

    type: ActivityType = Field(
        description="CALL, MEETING, EMAIL, NOTE or TASK (any case: `call` too)", examples=["CALL"]
    )
    subject: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=100_000, description="The activity's text")
    occurred_at: UtcDateTime | None = Field(
        default=None, description="When it happened (ISO 8601; default: now)"
    )

    @field_validator("type", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class StageChangeOut(WireModel):
    id: uuid.UUID
    lead_id: uuid.UUID
    from_stage_id: uuid.UUID | None
    from_stage_name: str | None = Field(examples=["Proposal"])
    to_stage_id: uuid.UUID | None
    to_stage_name: str = Field(examples=["Won"])
    to_kind: StageKind
    seconds_in_from_stage: int | None = Field(examples=[432000])
    lost_reason: str | None
    actor_type: str = Field(examples=["api_key"])
    actor_id: uuid.UUID | None
    changed_at: datetime


class LeadBatch(BatchCreate[LeadCreate]):
    """Up to 1,000 leads to create."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {"title": "Renewal 2027", "value": "12000.00", "currency": "USD"},
                        {"title": "Pilot", "value": "2500", "currency": "EUR", "source": "event"},
                    ]
                }
            ]
        }
    )
