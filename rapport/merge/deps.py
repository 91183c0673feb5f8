"""The merge's dependency: merging needs crm:admin."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.merge.service import ContactMerger

Merger = Annotated[ContactMerger, provide(ContactMerger, Scope.CRM_ADMIN)]
