"""The templates domain's dependency: read, written and previewed with crm:campaigns."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.templates.service import TemplateService

Templates = Annotated[TemplateService, provide(TemplateService, Scope.CRM_CAMPAIGNS)]
