"""Wire shapes of queries."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rapport.kit.envelope import PageMeta
from rapport.kit.errors import ErrorDetail
from rapport.kit.pagination import MAX_TAKE
from rapport.kit.schemas import InputModel, WireModel

T = TypeVar("T")


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class QueryEntity(StrEnum):
    CONTACT = "contact"
    COMPANY = "company"
    LEAD = "lead"


EntityName = Annotated[QueryEntity, BeforeValidator(_lower)]

WHERE_EXAMPLE = (
    "status = ACTIVE AND (email contains '@example.com' OR lifecycleStage in (LEAD, CUSTOMER)) "
    "AND NOT tag = vip"
)
FILTER_EXAMPLE: dict[str, Any] = {
    "logic": "AND",
    "conditions": [
        {"type": "field", "field": "status", "operator": "eq", "value": "ACTIVE"},
        {
            "type": "field",
            "field": "lifecycleStage",
            "operator": "in",
            "value": ["LEAD", "CUSTOMER"],
        },
    ],
}


class QueryText(InputModel):
    where: str | None = Field(
        default=None,
        max_length=20_000,
        description="The query as text (docs/query-language.md), e.g. "
        "`lifecycleStage = CUSTOMER AND has activity CALL within last 14 days`",
        examples=[WHERE_EXAMPLE],
    )
    filter: dict[str, Any] | None = Field(
        default=None,
        description="The query as JSON: `{logic: AND|OR, conditions: [{type: field, field, "
        "operator, value} | {type: group, logic, conditions} | {type: activity, "
        "activityType, withinLast}]}`, any item with `negate: true` for NOT",
        examples=[FILTER_EXAMPLE],
    )


class PagedQuery(QueryText):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "where": "createdAt within last 30 days",
                    "page": 1,
                    "limit": 20,
                    "sortBy": "createdAt",
                    "sortOrder": "desc",
                }
            ]
        }
    )

    page: int | None = Field(default=None, ge=1, le=10_000_000, description="1-based page")
    limit: int | None = Field(default=None, ge=1, le=MAX_TAKE, description="Page size (25)")
    skip: int | None = Field(default=None, ge=0, le=1_000_000_000, description="Offset")
    take: int | None = Field(default=None, ge=1, le=MAX_TAKE, description="Alias of limit")
    page_size: int | None = Field(default=None, ge=1, le=MAX_TAKE, description="Alias of limit")
    cursor: str | None = Field(
        default=None, max_length=2000, description="meta.nextCursor of a page"
    )
    sort: str | None = Field(
        default=None, max_length=80, description="`field:asc` or `field:desc`", examples=[None]
    )
    sort_by: str | None = Field(default=None, max_length=64, description="The field to sort by")
    sort_order: Annotated[
        Literal["asc", "desc"] | None,
        BeforeValidator(_lower),
        Field(description="asc or desc, any case"),
    ] = None


class EntityQuery(PagedQuery):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entity": "contact",
                    "where": WHERE_EXAMPLE,
                    "sort": "createdAt:desc",
                    "page": 1,
                    "limit": 20,
                }
            ]
        }
    )

    entity: EntityName = Field(description="What to query: contact, company or lead (any case)")


class QueryCheck(QueryText):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"entity": "contact", "filter": FILTER_EXAMPLE}]}
    )

    entity: EntityName = Field(description="What the query is about: contact, company or lead")


class QueryMeta(PageMeta):
    query_time_ms: float = Field(description="Time the database took, in milliseconds")
    estimated_cost: int = Field(
        description="The query's estimated cost (weights of its conditions); a workspace "
        "refuses queries above `settings.queryCostLimit`"
    )


class QueryPage(BaseModel, Generic[T]):
    data: list[T]
    meta: QueryMeta


class QueryValidation(WireModel):
    valid: bool
    estimated_cost: int | None = Field(default=None, description="When valid")
    cost_limit: int = Field(description="The workspace's ceiling of estimated cost")
    relative_to_now: bool | None = Field(
        default=None,
        description="When valid: whether the matches change with time alone (`within last`, "
        "`30 days ago`)",
    )
    errors: list[ErrorDetail] = Field(
        default_factory=list,
        description="Why it is not valid: the path or the line and column of each problem",
    )


class FieldOut(WireModel):
    name: str = Field(examples=["company.industry"])
    label: str
    type: str = Field(
        description="text, number, boolean, date, datetime, choice, multiChoice, id, activity"
    )
    operators: list[str]
    options: list[str] = Field(description="The values a choice may take (any case)")
    source: str = Field(description="system, custom (a custom property) or relation")
    access: Literal["read", "readWrite"] = Field(
        description="readWrite: the field is also written through the entity's API"
    )
    description: str | None = None
