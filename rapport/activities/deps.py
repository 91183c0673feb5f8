"""The activities domain's dependencies: read with crm:read, logged and changed with
crm:write."""

from typing import Annotated

from rapport.activities.service import ActivityService
from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope

ActivitiesRead = Annotated[ActivityService, provide(ActivityService, Scope.CRM_READ)]
ActivitiesWrite = Annotated[ActivityService, provide(ActivityService, Scope.CRM_WRITE)]
