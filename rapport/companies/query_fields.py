"""What the query language can ask of a company, and of a contact's companies
(`company.industry`: any of its companies; `primaryCompany.industry`: its primary one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from rapport.kit import hooks
from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, column_builder, column_field, through
from rapport.models.companies import Company, CompanyMembership, CompanyRole, CompanyStatus

T = FieldType


def company_fields() -> list[Field]:
    return [
        column_field("id", "Id", Company.id, T.ID),
        column_field("name", "Name", Company.name, T.TEXT),
        column_field("domain", "Domain", Company.domain, T.TEXT),
        column_field("externalId", "External id", Company.external_id, T.TEXT),
        column_field("industry", "Industry", Company.industry, T.TEXT, 2),
        column_field("size", "Size", Company.size, T.TEXT, 2),
        column_field("plan", "Plan", Company.plan, T.TEXT, 2),
        column_field("website", "Website", Company.website, T.TEXT, 2),
        column_field("phone", "Phone", Company.phone, T.TEXT, 2),
        Field(
            "role",
            T.CHOICE,
            "Role",
            column_builder(Company.role, T.CHOICE),
            options=tuple(role.value for role in CompanyRole),
            cost=2,
            writable=True,
            column=Company.role,
        ),
        Field(
            "status",
            T.CHOICE,
            "Status",
            column_builder(Company.status, T.CHOICE),
            options=tuple(status.value for status in CompanyStatus),
            cost=2,
            writable=True,
            column=Company.status,
        ),
        column_field("ownerUserId", "Owner", Company.owner_user_id, T.ID),
        column_field("createdAt", "Created", Company.created_at, T.DATETIME),
        column_field("updatedAt", "Updated", Company.updated_at, T.DATETIME, 2),
    ]


async def of_companies(_context: Context, _nested: bool) -> list[Field]:
    return company_fields()


def _members_of(primary_only: bool) -> Any:
    def related(condition: ColumnElement[bool]) -> Select[Any]:
        stmt = select(CompanyMembership.contact_id).where(
            CompanyMembership.company_id.in_(select(Company.id).where(condition))
        )
        if primary_only:
            stmt = stmt.where(CompanyMembership.is_primary.is_(True))
        return stmt

    return related


async def of_contacts(context: Context, nested: bool) -> list[Field]:
    """Every field of a company (custom properties, tags and lists included), through the
    contact's memberships."""
    if nested:
        return []
    fields = await hooks.query_fields(context, "company", nested=True)
    return [
        through(prefix, item, Company.id, _members_of(primary), label)
        for prefix, primary, label in (
            ("company", False, "Any company"),
            ("primaryCompany", True, "Primary company"),
        )
        for item in fields
    ]
