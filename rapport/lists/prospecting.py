"""Seed 004's prospecting: add contacts to a static (marketing) list by id, by company, or by
query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, true

from rapport.companies.service import MembershipService
from rapport.contacts.service import ContactService
from rapport.kit.context import Context
from rapport.kit.cql.query import compiled_for, parse_query, where_renamed
from rapport.kit.errors import InvalidQuery, field_error
from rapport.lists.schemas import PROSPECTING_LIMIT, ProspectingAdd, ProspectingResult
from rapport.lists.service import ListService, refuse_unknown
from rapport.models.lists import ListEntity


class ProspectingService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.lists = ListService(context)
        self.contacts = ContactService(context)

    async def add_to_list(self, data: ProspectingAdd) -> ProspectingResult:
        """Every contact named (by id, through a company, or matching the query) joins the
        static list, once: sending the same request again adds nothing."""
        added, present = await self.lists.add_contacts(
            data.list_id, await self._named(data), PROSPECTING_LIMIT
        )
        segment = await self.lists.get(data.list_id)
        return ProspectingResult(
            added=added, already_present=present, member_count=segment.member_count
        )

    async def _named(self, data: ProspectingAdd) -> Select[Any]:
        given = [
            name
            for name, value in (
                ("contactIds", data.contact_ids),
                ("companyIds", data.company_ids),
                ("filter", data.filter),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise field_error(
                "contactIds", "Name the contacts one way: contactIds, companyIds or filter"
            )
        if data.contact_ids is not None:
            named = self.contacts.matching_ids(true(), among=data.contact_ids)
            known = await self.lists.existing(ListEntity.CONTACT, data.contact_ids)
            refuse_unknown("contactIds", "contact", data.contact_ids, known)
            return named
        if data.company_ids is not None:
            known = await self.lists.existing(ListEntity.COMPANY, data.company_ids)
            refuse_unknown("companyIds", "company", data.company_ids, known)
            members = MembershipService(self.context).contact_ids_in_any(data.company_ids)
            return self.contacts.matching_ids(true(), among=members)
        criteria = data.filter
        node = parse_query(
            criteria if isinstance(criteria, str) else None,
            criteria if isinstance(criteria, dict) else None,
            where_name="filter",
        )
        try:
            compiled = compiled_for(
                self.context, await self.contacts.query_catalog(), node, field="filter"
            )
        except InvalidQuery as exc:
            raise where_renamed(exc, "filter") from None
        return self.contacts.matching_ids(compiled.where)
