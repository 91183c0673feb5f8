"""The lists domain's dependencies: lists are read with crm:read; their members are changed
with crm:write; lists themselves (create, change, delete, evaluate: managing segments) with
crm:admin."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.lists.prospecting import ProspectingService
from rapport.lists.service import ListService

ListsRead = Annotated[ListService, provide(ListService, Scope.CRM_READ)]
ListMembersWrite = Annotated[ListService, provide(ListService, Scope.CRM_WRITE)]
ListsAdmin = Annotated[ListService, provide(ListService, Scope.CRM_ADMIN)]
Prospecting = Annotated[ProspectingService, provide(ProspectingService, Scope.CRM_WRITE)]
