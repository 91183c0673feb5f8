"""The views' dependency: reading them needs crm:read."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.overview.service import ContactOverview

OverviewRead = Annotated[ContactOverview, provide(ContactOverview, Scope.CRM_READ)]
