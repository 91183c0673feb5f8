"""What a list of companies can be filtered by."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select

from rapport.models.companies import CompanyRole, CompanyStatus


@dataclass(frozen=True)
class CompanyFilters:
    search: str | None = None
    role: CompanyRole | None = None
    status: CompanyStatus | None = None
    owner_user_id: uuid.UUID | None = None
    unassigned: bool = False
    industry: str | None = None
    size: str | None = None
    domain: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    within: tuple[Select[Any], ...] = ()
    """Subqueries of company ids the companies must be among (relations built by other
    domains: companies carrying a tag)."""
    matching: ColumnElement[bool] | None = None
    """A condition compiled from the query language (`CompanyService.query_catalog`)."""
