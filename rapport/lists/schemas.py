"""Wire shapes of lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, JsonValue

from rapport.companies.schemas import CompanyOut
from rapport.contacts.schemas import ContactOut
from rapport.kit.schemas import InputModel, WireModel, not_null
from rapport.models.lists import ListEntity

MEMBERS_PER_CALL = 1000
PROSPECTING_LIMIT = 10 * MEMBERS_PER_CALL

_CRITERIA_DOC = (
    "A dynamic list's query: the JSON filter (`{logic, conditions}`) or the text form as a "
    "string (POST /query documents both); the list holds every record matching it, kept "
    "current as the data changes"
)
_CRITERIA_EXAMPLE: dict[str, JsonValue] = {
    "logic": "AND",
    "conditions": [
        {"type": "field", "field": "lifecycleStage", "operator": "eq", "value": "CUSTOMER"}
    ],
}


class ListOut(WireModel):
    id: uuid.UUID
    name: str = Field(examples=["Active customers"])
    description: str | None
    entity_type: ListEntity
    is_dynamic: bool
    filter_criteria: dict[str, Any] | str | None = Field(
        description="The query of a dynamic list as it was given (JSON or text); null for a "
        "static list"
    )
    relative_to_now: bool = Field(
        description="The query depends on the time (`within last`, `ago`): the list is also "
        "refreshed every minute"
    )
    member_count: int = Field(description="Exact, kept with every change of membership")
    evaluated_at: datetime | None = Field(
        description="When a dynamic list was last evaluated in full"
    )
    created_at: datetime
    updated_at: datetime


class ListCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Active customers",
                    "entityType": "CONTACT",
                    "isDynamic": True,
                    "filterCriteria": _CRITERIA_EXAMPLE,
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200, description="Unique per entity type")
    description: str | None = Field(default=None, max_length=1000)
    entity_type: ListEntity = Field(default=ListEntity.CONTACT, description="CONTACT or COMPANY")
    is_dynamic: bool = Field(default=False)
    filter_criteria: dict[str, Any] | str | None = Field(
        default=None, description=_CRITERIA_DOC + "; required for a dynamic list"
    )


class ListUpdate(InputModel):
    """Only the fields sent change. A new `filterCriteria` re-evaluates the list at once."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Customers (active)"}]})

    name: str | None = Field(default=None, min_length=1, max_length=200, json_schema_extra=not_null)
    description: str | None = Field(default=None, max_length=1000)
    filter_criteria: dict[str, Any] | str | None = Field(
        default=None, description=_CRITERIA_DOC + " (dynamic lists only)"
    )


class MemberIds(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"entityIds": ["0196f1c2-5a6b-7c8d-9e0f-123456789abc"]}]}
    )

    entity_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MEMBERS_PER_CALL,
        description=f"Ids of contacts (or companies) of the workspace, at most {MEMBERS_PER_CALL}",
    )


class MembershipChange(WireModel):
    added: int = Field(default=0, description="Records that joined the list")
    removed: int = Field(default=0, description="Records that left the list")
    unchanged: int = Field(
        description="Records already in the list (adding) or not in it (removing)"
    )
    member_count: int


class Evaluation(WireModel):
    member_count: int
    added: int
    removed: int
    evaluated_at: datetime


class ListMemberOut(WireModel):
    entity_id: uuid.UUID
    added_at: datetime
    contact: ContactOut | None = Field(default=None, description="For a list of contacts")
    company: CompanyOut | None = Field(default=None, description="For a list of companies")


class ProspectingAdd(InputModel):
    """Seed 004's prospecting call: records to add to a static list of contacts, by id or by
    query; companies add their contacts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "listId": "0196f1c2-5a6b-7c8d-9e0f-123456789abc",
                    "filter": {
                        "logic": "AND",
                        "conditions": [
                            {"field": "lifecycleStage", "operator": "eq", "value": "LEAD"}
                        ],
                    },
                }
            ]
        }
    )

    list_id: uuid.UUID
    contact_ids: list[uuid.UUID] | None = Field(default=None, max_length=MEMBERS_PER_CALL)
    company_ids: list[uuid.UUID] | None = Field(default=None, max_length=MEMBERS_PER_CALL)
    filter: dict[str, Any] | str | None = Field(
        default=None,
        description="A query over contacts (JSON or text) whose matches are added, at most "
        f"{PROSPECTING_LIMIT} per call",
    )


class ProspectingResult(WireModel):
    added: int
    already_present: int
    member_count: int
