"""The suppression list's dependencies: read and changed with crm:campaigns (writes count
against the `write` rate limit, reads against `read`)."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.suppressions.service import SuppressionService

Suppressions = Annotated[SuppressionService, provide(SuppressionService, Scope.CRM_CAMPAIGNS)]
