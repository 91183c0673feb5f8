"""The query service as a dependency: querying needs crm:read."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.query.service import QueryService

QueryRead = Annotated[QueryService, provide(QueryService, Scope.CRM_READ)]
