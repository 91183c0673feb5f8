"""The event log's dependencies: reading it needs crm:read."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.events.service import EventService

Events = Annotated[EventService, provide(EventService, Scope.CRM_READ)]
