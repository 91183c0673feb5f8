"""What a list of contacts can be filtered by."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select

from rapport.models.contacts import ContactStatus, LifecycleStage


@dataclass(frozen=True)
class ContactFilters:
    search: str | None = None
    email: str | None = None
    external_id: str | None = None
    status: ContactStatus | None = None
    lifecycle_stage: LifecycleStage | None = None
    is_identified: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    owner_user_id: uuid.UUID | None = None
    unassigned: bool = False
    within: tuple[Select[Any], ...] = ()
    """Subqueries of contact ids the contacts must be among (relations to other domains, built
    by them: members of a company, contacts active in a module)."""
    matching: ColumnElement[bool] | None = None
    """A condition compiled from the query language (`ContactService.query_catalog`)."""
