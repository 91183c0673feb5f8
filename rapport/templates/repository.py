"""Every query on email templates."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, taken
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.templates import EmailTemplate


def name_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "An email template with this name already exists",
        "TEMPLATE_NAME_EXISTS",
        "name",
        existing_id,
    )


class EmailTemplateRepository(Repository[EmailTemplate]):
    model = EmailTemplate
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": EmailTemplate.created_at,
        "updatedAt": EmailTemplate.updated_at,
        "name": EmailTemplate.name,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_email_templates_tenant_name": name_taken,
        "email_templates.tenant_id, email_templates.name": name_taken,
    }

    async def page(self, request: PageRequest) -> tuple[list[EmailTemplate], PageMeta]:
        return await paginate(
            self.session, self.select(), request, self.sort_columns, EmailTemplate.id
        )

    async def by_name(self, name: str, exclude_id: uuid.UUID | None = None) -> EmailTemplate | None:
        conditions = [EmailTemplate.name == name]
        if exclude_id is not None:
            conditions.append(EmailTemplate.id != exclude_id)
        return await self.first(*conditions)
