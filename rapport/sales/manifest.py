"""Sales: pipelines and stages, leads and their moves."""

from __future__ import annotations

import uuid

from rapport.auth.scopes import Scope
from rapport.kit.context import Context
from rapport.kit.hooks import Links
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.sales import query_fields
from rapport.sales.lead_routes import router as lead_router
from rapport.sales.leads import LeadService
from rapport.sales.routes import router
from rapport.sales.service import PipelineService


async def _set_up(context: Context) -> None:
    await PipelineService(context).set_up_workspace()


async def _release_contact(context: Context, contact_id: uuid.UUID) -> None:
    await LeadService(context).release("contact_id", contact_id)


async def _release_company(context: Context, company_id: uuid.UUID) -> None:
    await LeadService(context).release("company_id", company_id)


async def _lead_links(context: Context, lead_id: uuid.UUID) -> Links | None:
    return await LeadService(context).links(lead_id)


MANIFEST = Manifest(
    name="sales",
    routers=(router, lead_router),
    query_fields={
        "lead": query_fields.of_leads,
        "contact": query_fields.of_contacts,
        "company": query_fields.of_companies,
    },
    event_types={
        "pipeline.created": "A pipeline was created",
        "pipeline.updated": "A pipeline was renamed or made the default",
        "pipeline.deleted": "A pipeline was deleted",
        "pipeline.stages_reordered": "A pipeline's stages were put in a new order",
        "pipeline_stage.created": "A stage was added to a pipeline",
        "pipeline_stage.updated": "A stage changed (name, kind, probability, colour)",
        "pipeline_stage.deleted": "A stage was deleted",
        "lead.created": "A lead was created",
        "lead.updated": "A lead changed; `data.changes` has each field before and after",
        "lead.stage_changed": "A lead moved to another stage (from, to, time in the stage left)",
        "lead.deleted": "A lead was deleted",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE, Scope.CRM_ADMIN),
    samples=(
        Sample(
            "pipeline_id",
            (SampleRequest("POST", "/pipelines", {"name": "Acme secret pipeline"}),),
        ),
        Sample(
            "stage_id",
            (
                SampleRequest(
                    "POST",
                    "/pipeline-stages",
                    {"pipelineId": "{pipeline_id}", "name": "Acme secret stage"},
                ),
            ),
        ),
        Sample(
            "lead_id",
            (
                SampleRequest(
                    "POST", "/leads", {"title": "Acme secret lead", "stageId": "{stage_id}"}
                ),
            ),
        ),
    ),
    workspace_setup=(_set_up,),
    before_removal={"contact": _release_contact, "company": _release_company},
    link_resolvers={"lead": _lead_links},
)
