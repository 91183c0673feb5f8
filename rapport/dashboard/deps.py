"""The dashboard's dependency: reading it needs crm:read."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.dashboard.service import DashboardService

DashboardRead = Annotated[DashboardService, provide(DashboardService, Scope.CRM_READ)]
