"""The query service as a dependency: querying needs crm:read and counts as a read, though
the query comes in a POST body."""

from typing import Annotated

from rapport.auth.dependencies import count_as_read, provide
from rapport.auth.scopes import Scope
from rapport.query.service import QueryService

QueryRead = Annotated[QueryService, provide(QueryService, Scope.CRM_READ, rate_limit=count_as_read)]
