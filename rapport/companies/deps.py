"""The companies domain's dependencies: read with crm:read, changed with crm:write."""

from typing import Annotated

from rapport.auth.dependencies import count_as_bulk, provide
from rapport.auth.scopes import Scope
from rapport.companies.service import CompanyService, MembershipService

CompaniesRead = Annotated[CompanyService, provide(CompanyService, Scope.CRM_READ)]
CompaniesWrite = Annotated[CompanyService, provide(CompanyService, Scope.CRM_WRITE)]
CompaniesBulk = Annotated[
    CompanyService, provide(CompanyService, Scope.CRM_WRITE, rate_limit=count_as_bulk)
]
MembershipsRead = Annotated[MembershipService, provide(MembershipService, Scope.CRM_READ)]
MembershipsWrite = Annotated[MembershipService, provide(MembershipService, Scope.CRM_WRITE)]
