"""Every query on companies and memberships."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import selectinload

from rapport.companies.filters import CompanyFilters
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict, taken
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.companies import Company, CompanyMembership


def domain_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "A company with this domain already exists", "COMPANY_DOMAIN_EXISTS", "domain", existing_id
    )


def external_id_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "A company with this externalId already exists",
        "COMPANY_EXTERNAL_ID_EXISTS",
        "externalId",
        existing_id,
    )


def already_associated() -> AppError:
    return Conflict("The contact is already in this company", code="ALREADY_ASSOCIATED")


class CompanyRepository(Repository[Company]):
    model = Company
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": Company.created_at,
        "updatedAt": Company.updated_at,
        "name": Company.name,
        "domain": Company.domain,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_companies_tenant_domain": domain_taken,
        "companies.tenant_id, companies.domain": domain_taken,
        "uq_companies_tenant_external_id": external_id_taken,
        "companies.tenant_id, companies.external_id": external_id_taken,
    }

    def ids_where(self, *where: Any) -> Select[Any]:
        return self.select(Company.id).where(*where)

    async def by_ids(self, company_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Company]:
        result = await self.session.execute(self.select().where(Company.id.in_(company_ids)))
        return {company.id: company for company in result.scalars()}

    async def page(
        self, filters: CompanyFilters, request: PageRequest
    ) -> tuple[list[Company], PageMeta]:
        return await paginate(
            self.session, self._filtered(filters), request, self.sort_columns, Company.id
        )

    def _filtered(self, f: CompanyFilters) -> Select[Any]:
        stmt = self.select()
        for column, value in (
            (Company.role, f.role),
            (Company.status, f.status),
            (Company.owner_user_id, f.owner_user_id),
            (Company.industry, f.industry),
            (Company.size, f.size),
            (Company.domain, f.domain),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if f.unassigned:
            stmt = stmt.where(Company.owner_user_id.is_(None))
        if f.created_from is not None:
            stmt = stmt.where(Company.created_at >= f.created_from)
        if f.created_to is not None:
            stmt = stmt.where(Company.created_at <= f.created_to)
        for ids in f.within:
            stmt = stmt.where(Company.id.in_(ids))
        if f.matching is not None:
            stmt = stmt.where(f.matching)
        if f.search:
            term = f.search.strip()
            stmt = stmt.where(
                or_(
                    Company.name.icontains(term, autoescape=True),
                    Company.domain.icontains(term, autoescape=True),
                )
            )
        return stmt

    async def by_column(self, column: Any, value: str) -> Company | None:
        return await self.first(column == value)

    async def holding(
        self, domains: Collection[str], external_ids: Collection[str]
    ) -> list[Company]:
        """The companies with any of these domains or externalIds, locked until commit (in id
        order, so that two writers lock them in the same order)."""
        found: dict[uuid.UUID, Company] = {}
        for column, values in ((Company.domain, domains), (Company.external_id, external_ids)):
            if values:
                stmt = self.select().where(column.in_(sorted(values))).order_by(Company.id)
                result = await self.session.execute(stmt.with_for_update())
                found.update((company.id, company) for company in result.scalars())
        return list(found.values())

    async def holder(self, column: Any, value: str, exclude_id: uuid.UUID | None) -> Company | None:
        """The company (other than `exclude_id`) that has this value."""
        conditions = [column == value]
        if exclude_id is not None:
            conditions.append(Company.id != exclude_id)
        return await self.first(*conditions)

    async def count_created_between(self, start: datetime, end: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(Company).where(Company.created_at.between(start, end))
        )
        return int(count or 0)

    def rows_where(self, columns: Sequence[Any], *where: Any) -> Select[Any]:
        """These columns of the companies meeting the conditions, in id order."""
        return self.select(*columns).select_from(Company).where(*where).order_by(Company.id)


class MembershipRepository(Repository[CompanyMembership]):
    model = CompanyMembership
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": CompanyMembership.created_at,
        "updatedAt": CompanyMembership.updated_at,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_company_memberships_pair": already_associated,
        "company_memberships.contact_id, company_memberships.company_id": already_associated,
    }

    async def of_contact(
        self, contact_id: uuid.UUID, request: PageRequest
    ) -> tuple[list[CompanyMembership], PageMeta]:
        stmt = (
            self.select()
            .where(CompanyMembership.contact_id == contact_id)
            .options(selectinload(CompanyMembership.company))
        )
        return await paginate(self.session, stmt, request, self.sort_columns, CompanyMembership.id)

    async def of_company(
        self, company_id: uuid.UUID, contact_ids: Select[Any], request: PageRequest
    ) -> tuple[list[CompanyMembership], PageMeta]:
        """The company's memberships of the contacts `contact_ids` selects."""
        stmt = self.select().where(
            CompanyMembership.company_id == company_id,
            CompanyMembership.contact_id.in_(contact_ids),
        )
        return await paginate(self.session, stmt, request, self.sort_columns, CompanyMembership.id)

    async def pair(self, contact_id: uuid.UUID, company_id: uuid.UUID) -> CompanyMembership | None:
        return await self.first(
            CompanyMembership.contact_id == contact_id, CompanyMembership.company_id == company_id
        )

    async def of_contact_by_id(
        self, contact_id: uuid.UUID, membership_id: uuid.UUID
    ) -> CompanyMembership | None:
        return await self.first(
            CompanyMembership.id == membership_id, CompanyMembership.contact_id == contact_id
        )

    async def primary_of(self, contact_id: uuid.UUID) -> CompanyMembership | None:
        return await self.first(
            CompanyMembership.contact_id == contact_id, CompanyMembership.is_primary.is_(True)
        )

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[CompanyMembership]:
        result = await self.session.execute(
            self.select()
            .where(CompanyMembership.contact_id.in_(contact_ids))
            .order_by(CompanyMembership.created_at, CompanyMembership.id)
        )
        return list(result.scalars())

    def ids_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> Select[Any]:
        return self.select(CompanyMembership.id).where(
            CompanyMembership.contact_id.in_(contact_ids)
        )

    async def delete_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> int:
        result = await self.session.execute(
            delete(CompanyMembership)
            .where(CompanyMembership.contact_id.in_(contact_ids))
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def ids_in(self, company_id: uuid.UUID) -> Select[Any]:
        """Subquery of the memberships of a company."""
        return self.select(CompanyMembership.id).where(CompanyMembership.company_id == company_id)

    def contact_ids_in(self, company_id: uuid.UUID) -> Select[Any]:
        """Subquery of the contacts in a company (for `GET /contacts?companyId=`)."""
        return self.contact_ids_in_any([company_id])

    def contact_ids_in_any(self, company_ids: Collection[uuid.UUID]) -> Select[Any]:
        return self.select(CompanyMembership.contact_id).where(
            CompanyMembership.company_id.in_(company_ids)
        )
