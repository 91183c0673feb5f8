"""The privacy operations' dependency: exporting and erasing a person need crm:admin."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.privacy.service import PrivacyService

PrivacyAdmin = Annotated[PrivacyService, provide(PrivacyService, Scope.CRM_ADMIN)]
