"""Queries over contacts, companies and leads: each entity's service builds the catalogue of
its fields and pages its records; this service parses, compiles (with the workspace's cost
ceiling), times and answers."""

from __future__ import annotations

import time
from typing import Any

from rapport.companies.filters import CompanyFilters
from rapport.companies.schemas import CompanyOut
from rapport.companies.service import CompanyService
from rapport.contacts.filters import ContactFilters
from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import ContactService
from rapport.kit.context import Context
from rapport.kit.cql.compiler import Compiled
from rapport.kit.cql.fields import Catalog
from rapport.kit.cql.query import compiled_for, cost_limit
from rapport.kit.cql.tree import Node
from rapport.kit.errors import InvalidQuery
from rapport.kit.pagination import PageRequest, Pagination
from rapport.query.schemas import FieldOut, PagedQuery, QueryEntity, QueryMeta, QueryValidation
from rapport.sales.leads import LeadQuery, LeadService


class QueryService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.contacts = ContactService(context)
        self.companies = CompanyService(context)
        self.leads = LeadService(context)

    async def catalog(self, entity: QueryEntity) -> Catalog:
        if entity == QueryEntity.CONTACT:
            return await self.contacts.query_catalog()
        if entity == QueryEntity.COMPANY:
            return await self.companies.query_catalog()
        return await self.leads.query_catalog()

    async def compiled(self, entity: QueryEntity, node: Node) -> Compiled:
        return compiled_for(self.context, await self.catalog(entity), node)

    def page_of(self, entity: QueryEntity, body: PagedQuery) -> PageRequest:
        """The page and sort a query's body asks for, read by the same rules as a list's
        query string."""
        sort_fields = {
            QueryEntity.CONTACT: ContactService.sort_fields,
            QueryEntity.COMPANY: CompanyService.sort_fields,
            QueryEntity.LEAD: LeadService.sort_fields,
        }[entity]
        return Pagination(sort_fields)(
            skip=body.skip,
            take=body.take,
            page=body.page,
            limit=body.limit,
            page_size=body.page_size,
            cursor=body.cursor,
            sort_by=body.sort_by,
            sort_order=body.sort_order,
            sort=body.sort,
        )

    async def run(
        self, entity: QueryEntity, node: Node, page: PageRequest
    ) -> tuple[list[Any], QueryMeta]:
        compiled = await self.compiled(entity, node)
        started = time.perf_counter()
        data: list[Any]
        if entity == QueryEntity.CONTACT:
            contacts, meta = await self.contacts.page(ContactFilters(matching=compiled.where), page)
            data = [ContactOut.model_validate(contact) for contact in contacts]
        elif entity == QueryEntity.COMPANY:
            companies, meta = await self.companies.page(
                CompanyFilters(matching=compiled.where), page
            )
            data = [CompanyOut.model_validate(company) for company in companies]
        else:
            leads, meta = await self.leads.listed(LeadQuery(matching=compiled.where), page)
            data = list(await self.leads.out(leads))
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        return data, QueryMeta(
            **meta.model_dump(), query_time_ms=elapsed, estimated_cost=compiled.cost
        )

    async def validate(self, entity: QueryEntity, parse: Any) -> QueryValidation:
        """Whether the query parses and fits the entity's fields, with every problem found."""
        limit = cost_limit(self.context)
        try:
            compiled = await self.compiled(entity, parse())
        except InvalidQuery as exc:
            return QueryValidation(valid=False, cost_limit=limit, errors=exc.details)
        return QueryValidation(
            valid=True,
            estimated_cost=compiled.cost,
            cost_limit=limit,
            relative_to_now=compiled.relative_to_now,
        )

    async def fields(self, entity: QueryEntity) -> list[FieldOut]:
        catalog = await self.catalog(entity)
        return [
            FieldOut(
                name=item.name,
                label=item.label,
                type=item.type.value,
                operators=[op.value for op in item.operators],
                options=list(item.options),
                source=item.source.value,
                access="readWrite" if item.writable else "read",
                description=item.description,
            )
            for item in catalog.fields.values()
            if not _is_alias(item.name)
        ]


def _is_alias(name: str) -> bool:
    """`properties.<key>`, the other name of a custom property (listed once, by its key)."""
    return name.startswith("properties.") or ".properties." in name
