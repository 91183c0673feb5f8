"""The contacts domain's dependencies: read with crm:read, changed with crm:write."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.contacts.service import ContactService

ContactsRead = Annotated[ContactService, provide(ContactService, Scope.CRM_READ)]
ContactsWrite = Annotated[ContactService, provide(ContactService, Scope.CRM_WRITE)]
