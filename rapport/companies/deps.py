"""The companies domain's dependencies: read with crm:read, changed with crm:write."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.companies.service import CompanyService, MembershipService

CompaniesRead = Annotated[CompanyService, provide(CompanyService, Scope.CRM_READ)]
CompaniesWrite = Annotated[CompanyService, provide(CompanyService, Scope.CRM_WRITE)]
MembershipsRead = Annotated[MembershipService, provide(MembershipService, Scope.CRM_READ)]
MembershipsWrite = Annotated[MembershipService, provide(MembershipService, Scope.CRM_WRITE)]
