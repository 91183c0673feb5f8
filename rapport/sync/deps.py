"""The sync domain's dependencies: read with crm:read, recorded with crm:write."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.sync.service import SyncStatusService

SyncRead = Annotated[SyncStatusService, provide(SyncStatusService, Scope.CRM_READ)]
SyncWrite = Annotated[SyncStatusService, provide(SyncStatusService, Scope.CRM_WRITE)]
