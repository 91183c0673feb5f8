"""The contacts domain's dependencies: read with crm:read, changed with crm:write."""

from typing import Annotated

from rapport.auth.dependencies import count_as_bulk, provide
from rapport.auth.scopes import Scope
from rapport.contacts.service import ContactService

ContactsRead = Annotated[ContactService, provide(ContactService, Scope.CRM_READ)]
ContactsWrite = Annotated[ContactService, provide(ContactService, Scope.CRM_WRITE)]
ContactsBulk = Annotated[
    ContactService, provide(ContactService, Scope.CRM_WRITE, rate_limit=count_as_bulk)
]
