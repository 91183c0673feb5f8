"""Company rules: normalised unique domains, owners from the workspace, lookups by id or
externalId; memberships with one primary company per contact."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select

from rapport.companies.filters import CompanyFilters
from rapport.companies.repository import (
    CompanyRepository,
    MembershipRepository,
    already_associated,
    domain_taken,
    external_id_taken,
)
from rapport.companies.schemas import (
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    MembershipCreate,
    MembershipOut,
    MembershipUpdate,
)
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder, changes_between
from rapport.kit import hooks
from rapport.kit.batch import Batch, Changed, Outcome, written
from rapport.kit.context import Context
from rapport.kit.cql.fields import Catalog
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import (
    NotFound,
    field_error,
    query_value,
)
from rapport.kit.etag import ensure_match, etag_for
from rapport.kit.ids import new_id, parse_uuid
from rapport.kit.normalize import (
    clean,
    normalize_domain,
    normalize_phone,
    normalize_website,
    not_blank,
)
from rapport.kit.pagination import PageRequest
from rapport.models.companies import Company, CompanyMembership
from rapport.models.properties import PropertyEntity
from rapport.properties.service import PropertyRules
from rapport.tenancy.service import checked_owner

if TYPE_CHECKING:
    # Only a type: contacts are read through ContactService.
    from rapport.models.contacts import Contact

_TEXT_FIELDS = ("name", "industry", "size", "plan")
# The unique keys of a company, in the order an upsert looks for the one to update.
_KEYS = {"external_id": "externalId", "domain": "domain"}


def company_etag(company: Company) -> str:
    return etag_for(company.id, company.version)


class CompanyService:
    sort_fields = tuple(CompanyRepository.sort_columns)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.repo = CompanyRepository(context.session)
        self.events = EventRecorder(context)
        self.phone_region: str | None = context.workspace_settings.get("defaultPhoneRegion")
        self.rules = PropertyRules(context)
        self._batch: Batch[CompanyCreate, Company] | None = None

    def export_rows(self, columns: Sequence[Any], matching: ColumnElement[bool]) -> Select[Any]:
        """The columns (of a query catalogue's fields) of the companies meeting a compiled
        query condition, in id order: what an export streams."""
        return self.repo.rows_where(columns, matching)

    async def query_catalog(self, *, nested: bool = False) -> Catalog:
        """What the query language can ask of a company in this workspace (`nested`: as seen
        through a relation)."""
        fields = await hooks.query_fields(self.context, "company", nested=nested)
        return Catalog.of("company", Company.id, fields, Company.properties)

    async def page(
        self, filters: CompanyFilters, page: PageRequest
    ) -> tuple[list[Company], PageMeta]:
        if filters.domain is not None:
            domain = query_value("domain", filters.domain, normalize_domain)
            filters = replace(filters, domain=domain)
        return await self.repo.page(filters, page)

    async def get(self, ref: str) -> Company:
        """By id, else by externalId."""
        company: Company | None = None
        record_id = parse_uuid(ref)
        if record_id is not None:
            company = await self.repo.get(record_id)
        if company is None:
            company = await self.repo.by_column(Company.external_id, ref)
        if company is None:
            raise NotFound("Company not found")
        return company

    def matching_ids(
        self, matching: ColumnElement[bool], among: Collection[uuid.UUID] | None = None
    ) -> Select[Any]:
        """The ids of the companies meeting a compiled query condition (`among` these ids
        only, if given): what a dynamic list holds."""
        if among is None:
            return self.repo.ids_where(matching)
        return self.repo.ids_where(matching, Company.id.in_(among))

    async def by_ids(self, company_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Company]:
        return await self.repo.by_ids(company_ids)

    async def exists(self, company_id: uuid.UUID) -> bool:
        return await self.repo.get(company_id) is not None

    async def create(self, data: CompanyCreate) -> Company:
        company = await self._added(data)
        await self.repo.flush()
        await self._written([(company, None)])
        return company

    async def save_many(self, records: Sequence[Any], *, upsert: bool) -> list[Outcome[Company]]:
        """Create (with `upsert`, update the company with the record's externalId, else its
        domain) each record under the same rules as one at a time; a refused record changes
        nothing and the others go on. The companies holding the keys named are read (and
        locked) at once, and the records written in one flush."""
        batch: Batch[CompanyCreate, Company] = Batch(
            CompanyCreate, records, _KEYS, live=lambda _company: True
        )
        named = batch.read_keys(
            lambda item: {
                "external_id": clean(item.external_id),
                "domain": normalize_domain(item.domain),
            }
        )
        batch.know(await self.repo.holding(named["domain"], named["external_id"]))
        self._batch = batch
        try:
            planned = await batch.plan(self._added, self._change_sent, upsert=upsert)
        finally:
            self._batch = None
        await self.repo.flush()
        await self._written(written(planned))
        return [outcome for outcome, _ in planned]

    async def _added(self, data: CompanyCreate) -> Company:
        """The company `data` describes, checked, normalised and added to the session."""
        name = not_blank(data.name, "name")
        company = Company(
            id=new_id(),
            name=name,
            domain=normalize_domain(data.domain),
            external_id=clean(data.external_id),
            industry=clean(data.industry),
            size=clean(data.size),
            plan=clean(data.plan),
            website=normalize_website(data.website),
            phone=normalize_phone(clean(data.phone), self.phone_region),
            role=data.role,
            status=data.status,
            owner_user_id=await checked_owner(self.context, data.owner_user_id),
            properties=await self.rules.checked(
                PropertyEntity.COMPANY, data.properties, creating=True
            ),
        )
        await self._ensure_unique(company.domain, company.external_id, None)
        self.repo.add(company)
        return company

    async def _written(self, records: Sequence[tuple[Company, Changed | None]]) -> None:
        """After the flush, for companies created (None) or changed: the property-value index
        of them all at once, then each one's event."""
        await self.rules.store_many(
            PropertyEntity.COMPANY,
            [(c.id, change.properties if change else {}, c.properties) for c, change in records],
        )
        for company, change in records:
            after = _record(company)
            if change is None:
                self.events.record("company.created", "company", company.id, {"record": after})
                continue
            self.events.record(
                "company.updated",
                "company",
                company.id,
                {"record": after, "changes": changes_between(change.before, after)},
            )

    async def update(self, ref: str, patch: CompanyUpdate, if_match: str | None = None) -> Company:
        company = await self.get(ref)
        await self.repo.lock_row(company)
        ensure_match(if_match, company_etag(company))
        change = await self._change(company, patch)
        if change is not None:
            await self.repo.flush()
            await self._written([(company, change)])
        return company

    async def _change_sent(self, company: Company, data: CompanyCreate) -> Changed | None:
        sent = data.model_fields_set - {"tenant_id", "entity_id"}
        return await self._change(company, CompanyUpdate(**{f: getattr(data, f) for f in sent}))

    async def _change(self, company: Company, patch: CompanyUpdate) -> Changed | None:
        """Check the fields sent and set them on `company` (nothing is set when one is
        refused); the company as it was, None when nothing changed."""
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {}
        for field in _TEXT_FIELDS:
            if field in sent:
                changes[field] = clean(getattr(patch, field))
        if "external_id" in sent:
            changes["external_id"] = clean(patch.external_id)
        if "domain" in sent:
            changes["domain"] = normalize_domain(patch.domain)
        if "website" in sent:
            changes["website"] = normalize_website(patch.website)
        if "phone" in sent:
            changes["phone"] = normalize_phone(clean(patch.phone), self.phone_region)
        if "owner_user_id" in sent:
            changes["owner_user_id"] = await checked_owner(self.context, patch.owner_user_id)
        for field in ("role", "status"):
            if field in sent:
                if getattr(patch, field) is None:
                    raise field_error(field, "Cannot be null")
                changes[field] = getattr(patch, field)
        if "name" in changes and changes["name"] is None:
            raise field_error("name", "Cannot be blank")
        if "properties" in sent:
            changes["properties"] = await self.rules.merged(
                PropertyEntity.COMPANY, company.properties, patch.properties
            )
        changes = {k: v for k, v in changes.items() if getattr(company, k) != v}
        if not changes:
            return None
        await self._ensure_unique(
            changes.get("domain"), changes.get("external_id"), exclude_id=company.id
        )
        change = Changed(_record(company), company.properties)
        for field, value in changes.items():
            setattr(company, field, value)
        return change

    async def delete(self, ref: str, if_match: str | None = None) -> None:
        """Deletes the company and its memberships (the contacts stay)."""
        company = await self.get(ref)
        await self.repo.lock_row(company)
        ensure_match(if_match, company_etag(company))
        record = _record(company)
        memberships = MembershipRepository(self.context.session)
        await hooks.removing(self.context, "company", company.id)
        await self.rules.forget(memberships.ids_in(company.id))
        await self.context.session.delete(company)
        await self.repo.flush()
        await self.rules.forget(company.id)
        self.events.record("company.deleted", "company", company.id, {"record": record})

    async def _ensure_unique(
        self, domain: str | None, external_id: str | None, exclude_id: uuid.UUID | None
    ) -> None:
        holder = domain and await self._holder("domain", domain, exclude_id)
        if holder:
            raise domain_taken(holder.id)
        holder = external_id and await self._holder("external_id", external_id, exclude_id)
        if holder:
            raise external_id_taken(holder.id)

    async def _holder(self, field: str, value: str, exclude_id: uuid.UUID | None) -> Company | None:
        """The company other than `exclude_id` holding this domain or externalId: as a batch
        knows it (it read them all at once), else from the database."""
        if self._batch is not None:
            known, holder = self._batch.holder(field, value)
            if known:
                return holder if holder is not None and holder.id != exclude_id else None
        return await self.repo.holder(getattr(Company, field), value, exclude_id)

    async def count_created_between(self, start: datetime, end: datetime) -> int:
        """How many companies were created between `start` and `end` (both included)."""
        return await self.repo.count_created_between(start, end)


class MembershipService:
    """A contact's companies (seed 003's `/contacts/{id}/companies` and the
    `/contacts/{id}/company-memberships` CRUD are two views of the same rows)."""

    def __init__(self, context: Context) -> None:
        self.repo = MembershipRepository(context.session)
        self.contacts = ContactService(context)
        self.companies = CompanyService(context)
        self.events = EventRecorder(context)

    async def of_contact(
        self, contact_ref: str, page: PageRequest
    ) -> tuple[list[CompanyMembership], PageMeta]:
        contact = await self.contacts.get(contact_ref)
        return await self.repo.of_contact(contact.id, page)

    async def primary_company(self, contact_id: uuid.UUID) -> Company | None:
        """The contact's primary company, if it has one."""
        membership = await self.repo.primary_of(contact_id)
        if membership is None:
            return None
        found = await self.companies.by_ids([membership.company_id])
        return found.get(membership.company_id)

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[CompanyMembership]:
        """Every membership of these contacts, oldest first."""
        return await self.repo.of_contacts(contact_ids)

    async def delete_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> int:
        """An erasure: the contacts' memberships go, with their property values, without
        events (the contacts' events are redacted); how many there were."""
        await self.contacts.rules.forget(self.repo.ids_of_contacts(contact_ids))
        return await self.repo.delete_of_contacts(contact_ids)

    def contact_ids_in(self, company_id: uuid.UUID) -> Select[Any]:
        """A subquery of the ids of the company's contacts (contacts filtered by company)."""
        return self.repo.contact_ids_in(company_id)

    def contact_ids_in_any(self, company_ids: Collection[uuid.UUID]) -> Select[Any]:
        """A subquery of the ids of the contacts of any of these companies."""
        return self.repo.contact_ids_in_any(company_ids)

    async def of_company(
        self, company_ref: str, page: PageRequest
    ) -> tuple[list[tuple[CompanyMembership, Contact]], PageMeta]:
        """The company's contacts (deleted ones left out), each with its membership."""
        company = await self.companies.get(company_ref)
        rows, meta = await self.repo.of_company(company.id, self.contacts.not_deleted(), page)
        contacts = await self.contacts.by_ids([m.contact_id for m in rows])
        return [(m, contacts[m.contact_id]) for m in rows], meta

    async def add(self, contact_ref: str, data: MembershipCreate) -> CompanyMembership:
        contact = await self.contacts.get(contact_ref)
        company = await self.companies.repo.get(data.company_id)
        if company is None:
            raise field_error("companyId", "No such company in this workspace")
        await self.contacts.lock(contact.id)
        if await self.repo.pair(contact.id, company.id) is not None:
            raise already_associated()
        if data.is_primary:
            await self._demote_primary(contact)
        rules = self.companies.rules
        membership = self.repo.add(
            CompanyMembership(
                contact_id=contact.id,
                company_id=company.id,
                role=clean(data.role),
                is_primary=data.is_primary,
                properties=await rules.checked(
                    PropertyEntity.CONTACT_COMPANY, data.properties, creating=True
                ),
            )
        )
        await self.repo.flush()
        await rules.store(PropertyEntity.CONTACT_COMPANY, membership.id, {}, membership.properties)
        self._emit("company_membership.created", membership)
        return membership

    async def get(self, contact_ref: str, membership_id: uuid.UUID) -> CompanyMembership:
        contact = await self.contacts.get(contact_ref)
        membership = await self.repo.of_contact_by_id(contact.id, membership_id)
        if membership is None:
            raise NotFound("Membership not found")
        return membership

    async def update(
        self, contact_ref: str, membership_id: uuid.UUID, patch: MembershipUpdate
    ) -> CompanyMembership:
        membership = await self.get(contact_ref, membership_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {}
        if "role" in sent:
            changes["role"] = clean(patch.role)
        if "is_primary" in sent:
            if patch.is_primary is None:
                raise field_error("isPrimary", "Cannot be null")
            changes["is_primary"] = patch.is_primary
        if "properties" in sent:
            changes["properties"] = await self.companies.rules.merged(
                PropertyEntity.CONTACT_COMPANY, membership.properties, patch.properties
            )
        changes = {k: v for k, v in changes.items() if getattr(membership, k) != v}
        if not changes:
            return membership
        if changes.get("is_primary"):
            contact = await self.contacts.get(contact_ref)
            await self.contacts.lock(contact.id)
            await self._demote_primary(contact)
        before = _membership_record(membership)
        old_properties = membership.properties
        for field, value in changes.items():
            setattr(membership, field, value)
        await self.repo.flush()
        await self.companies.rules.store(
            PropertyEntity.CONTACT_COMPANY, membership.id, old_properties, membership.properties
        )
        self._emit("company_membership.updated", membership, before)
        return membership

    async def remove(self, contact_ref: str, membership_id: uuid.UUID) -> None:
        membership = await self.get(contact_ref, membership_id)
        await self._delete(membership)

    async def remove_company(self, contact_ref: str, company_id: uuid.UUID) -> None:
        contact = await self.contacts.get(contact_ref)
        membership = await self.repo.pair(contact.id, company_id)
        if membership is None:
            raise NotFound("The contact is not in this company")
        await self._delete(membership)

    async def _delete(self, membership: CompanyMembership) -> None:
        record = _membership_record(membership)
        await self.repo.session.delete(membership)
        await self.repo.flush()
        await self.companies.rules.forget(membership.id)
        self.events.record(
            "company_membership.deleted", "company_membership", membership.id, {"record": record}
        )

    async def _demote_primary(self, contact: Contact) -> None:
        """The contact's current primary membership stops being primary (one per contact)."""
        current = await self.repo.primary_of(contact.id)
        if current is None:
            return
        before = _membership_record(current)
        current.is_primary = False
        await self.repo.flush()
        self._emit("company_membership.updated", current, before)

    def _emit(
        self, event_type: str, membership: CompanyMembership, before: dict[str, Any] | None = None
    ) -> None:
        record = _membership_record(membership)
        data: dict[str, Any] = {"record": record}
        if before is not None:
            data["changes"] = changes_between(before, record)
        self.events.record(event_type, "company_membership", membership.id, data)


def _record(company: Company) -> dict[str, Any]:
    """The company as the API shows it, which is also what events and webhooks carry."""
    return CompanyOut.model_validate(company).model_dump(mode="json")


def _membership_record(membership: CompanyMembership) -> dict[str, Any]:
    return MembershipOut.model_validate(membership).model_dump(mode="json")
