"""The properties domain's dependencies: definitions are read with crm:read, changed with
crm:admin."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.properties.service import PropertyService

PropertiesRead = Annotated[PropertyService, provide(PropertyService, Scope.CRM_READ)]
PropertiesAdmin = Annotated[PropertyService, provide(PropertyService, Scope.CRM_ADMIN)]
