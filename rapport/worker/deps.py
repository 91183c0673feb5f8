"""The jobs API's dependencies: a workspace's jobs need crm:admin."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.worker.service import JobService

Jobs = Annotated[JobService, provide(JobService, Scope.CRM_ADMIN)]
