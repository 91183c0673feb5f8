"""The tags domain's dependencies: tags and tagging are read with crm:read, changed with
crm:write."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.tags.service import TaggingService, TagService

TagsRead = Annotated[TagService, provide(TagService, Scope.CRM_READ)]
TagsWrite = Annotated[TagService, provide(TagService, Scope.CRM_WRITE)]
ContactTaggingRead = Annotated[TaggingService, provide(TaggingService.of_contacts, Scope.CRM_READ)]
ContactTaggingWrite = Annotated[
    TaggingService, provide(TaggingService.of_contacts, Scope.CRM_WRITE)
]
CompanyTaggingRead = Annotated[TaggingService, provide(TaggingService.of_companies, Scope.CRM_READ)]
CompanyTaggingWrite = Annotated[
    TaggingService, provide(TaggingService.of_companies, Scope.CRM_WRITE)
]
