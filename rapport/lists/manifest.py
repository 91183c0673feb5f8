"""Lists (segments) and prospecting."""

from __future__ import annotations

import uuid

from rapport.auth.scopes import Scope
from rapport.kit.context import Context
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.lists import query_fields
from rapport.lists.routes import router
from rapport.lists.service import ListService
from rapport.models.lists import ListEntity


async def _contact_removed(context: Context, contact_id: uuid.UUID) -> None:
    await ListService(context).record_removed(ListEntity.CONTACT, contact_id)


async def _company_removed(context: Context, company_id: uuid.UUID) -> None:
    await ListService(context).record_removed(ListEntity.COMPANY, company_id)


MANIFEST = Manifest(
    name="lists",
    routers=(router,),
    event_types={
        "list.created": "A list (segment) was created",
        "list.updated": "A list was renamed or its query changed; `data.changes`",
        "list.deleted": "A list was deleted (its members stay)",
        "list.member_added": "A contact or company joined a list (entered a segment): the "
        "event is about the record, `data.listId` names the list",
        "list.member_removed": "A contact or company left a list (exited a segment)",
    },
    task_modules=("rapport.lists.tasks",),
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE, Scope.CRM_ADMIN),
    samples=(
        Sample(
            "list_id",
            (
                SampleRequest(
                    "POST",
                    "/lists",
                    {"name": "Acme secret list", "entityType": "CONTACT"},
                ),
            ),
        ),
    ),
    before_removal={"contact": _contact_removed, "company": _company_removed},
    query_fields={"contact": query_fields.provide, "company": query_fields.provide},
)
