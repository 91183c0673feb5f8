"""HTTP routes of the query language."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from rapport.companies.schemas import CompanyOut
from rapport.contacts.schemas import ContactOut
from rapport.kit.cql.query import parse_query
from rapport.kit.envelope import ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.session import api_router
from rapport.query.deps import QueryRead
from rapport.query.schemas import (
    EntityName,
    EntityQuery,
    FieldOut,
    PagedQuery,
    QueryCheck,
    QueryEntity,
    QueryPage,
    QueryValidation,
)
from rapport.sales.lead_schemas import LeadOut

router = api_router(tags=["Query"])
filter_router = api_router()
"""`POST /contacts/filter` and the like, documented with their entity's routes."""

_QUERY_ERRORS = documented_errors(
    {
        400: "`INVALID_QUERY`: the text does not parse (`details[]` has the line, column and "
        "what was expected), a field is unknown, an operator or a value does not fit the "
        "field (`details[].field` names it), or the estimated cost is above the workspace's "
        "ceiling; `INVALID_REQUEST`: a malformed page or sort",
    }
)


async def _page(query: QueryRead, entity: QueryEntity, body: PagedQuery) -> tuple[Any, Any]:
    node = parse_query(body.where, body.filter)
    return await query.run(entity, node, query.page_of(entity, body))


@router.post(
    "/query",
    summary="Query contacts, companies or leads with the query language (text or JSON)",
    responses=_QUERY_ERRORS,
)
async def run_query(
    body: EntityQuery, query: QueryRead
) -> QueryPage[ContactOut | CompanyOut | LeadOut]:
    """One page of the records of `entity` matching the query, given as text in `where` or as
    JSON in `filter` (neither: every record), with the total, the time the database took and
    the query's estimated cost. Deleted and merged contacts are never matched. Conditions
    through relations (`tag`, `company.*`, `lead.*`, `activity`, `list`) match when at least
    one related record does. `GET /fields?entity=` lists every field with its operators."""
    data, meta = await _page(query, body.entity, body)
    return QueryPage(data=data, meta=meta)


@router.post(
    "/query/validate",
    summary="Check a query without running it (for editors)",
    responses=documented_errors({}),
)
async def validate_query(body: QueryCheck, query: QueryRead) -> QueryValidation:
    """Parses and type-checks the query against the entity's fields and answers 200 either
    way: `valid`, the estimated cost and the workspace's ceiling, or every problem found with
    its path (JSON) or line and column (text)."""
    return await query.validate(body.entity, lambda: parse_query(body.where, body.filter))


@router.get(
    "/fields",
    summary="The fields a query can use on contacts, companies or leads",
    responses=documented_errors({400: "entity missing or not contact, company or lead"}),
)
async def list_fields(
    query: QueryRead,
    entity: Annotated[
        EntityName, Query(description="contact, company or lead (any case)")
    ] = QueryEntity.CONTACT,
) -> ListEnvelope[FieldOut]:
    """Every field of the entity: its own (`source: system`), its custom properties
    (`custom`, also named `properties.<key>`), and those through relations (`relation`:
    tags, lists, activities, `company.*` and `primaryCompany.*`, `lead.*`, a lead's
    `contact.*`), each with its type, the operators it takes, the values a choice takes, and
    whether the entity's API also writes it."""
    return ListEnvelope.whole(await query.fields(entity))


def _filter_route(entity: QueryEntity, path: str, out: Any, noun: str) -> None:
    async def filter_records(body: PagedQuery, query: QueryRead) -> QueryPage[Any]:
        data, meta = await _page(query, entity, body)
        return QueryPage(data=data, meta=meta)

    filter_records.__doc__ = (
        f"`POST /query` with entity {entity.value}: one page of the {noun} matching the query "
        "(`filter` as JSON or `where` as text), sorted and paged as the body says."
    )
    filter_router.post(
        path,
        summary=f"Filter {noun} with the query language",
        response_model=QueryPage[out],
        responses=_QUERY_ERRORS,
        name=f"filter_{noun}",
        tags=[noun.title()],
    )(filter_records)


_filter_route(QueryEntity.CONTACT, "/contacts/filter", ContactOut, "contacts")
_filter_route(QueryEntity.COMPANY, "/companies/filter", CompanyOut, "companies")
_filter_route(QueryEntity.LEAD, "/leads/filter", LeadOut, "leads")
