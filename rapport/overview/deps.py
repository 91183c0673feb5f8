"""The views' dependency: reading them needs crm:read."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.overview.service import Overview

OverviewRead = Annotated[Overview, provide(Overview, Scope.CRM_READ)]
