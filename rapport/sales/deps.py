"""The sales domain's dependencies: reading needs crm:read, working leads crm:write, and
configuring pipelines and stages crm:admin."""

from typing import Annotated

from rapport.auth.dependencies import count_as_bulk, provide
from rapport.auth.scopes import Scope
from rapport.sales.leads import LeadService
from rapport.sales.service import PipelineService

PipelinesRead = Annotated[PipelineService, provide(PipelineService, Scope.CRM_READ)]
PipelinesAdmin = Annotated[PipelineService, provide(PipelineService, Scope.CRM_ADMIN)]
LeadsRead = Annotated[LeadService, provide(LeadService, Scope.CRM_READ)]
LeadsWrite = Annotated[LeadService, provide(LeadService, Scope.CRM_WRITE)]
LeadsBulk = Annotated[LeadService, provide(LeadService, Scope.CRM_WRITE, rate_limit=count_as_bulk)]
LeadsAdmin = Annotated[LeadService, provide(LeadService, Scope.CRM_ADMIN)]
