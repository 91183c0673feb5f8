"""Permission scopes carried by API keys and granted to users by their workspace role."""

from __future__ import annotations

import enum

from rapport.models.tenancy import MembershipRole


class Scope(enum.StrEnum):
    CRM_READ = "crm:read"
    CRM_WRITE = "crm:write"
    CRM_ADMIN = "crm:admin"
    CRM_CAMPAIGNS = "crm:campaigns"
    CRM_SOCIAL = "crm:social"
    CRM_CONVERSATIONS = "crm:conversations"
    CRM_KNOWLEDGE = "crm:knowledge"
    CRM_AI = "crm:ai"
    CRM_ANALYTICS = "crm:analytics"
    CRM_IMPORT = "crm:import"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)

ROLE_SCOPES: dict[MembershipRole, frozenset[str]] = {
    MembershipRole.ADMIN: ALL_SCOPES,
    MembershipRole.MEMBER: ALL_SCOPES - {Scope.CRM_ADMIN.value},
    MembershipRole.VIEWER: frozenset({Scope.CRM_READ.value, Scope.CRM_ANALYTICS.value}),
}


def parse_scopes(values: list[str] | str) -> list[str]:
    """Sorted, de-duplicated scopes; ValueError naming the first unknown one."""
    items = values.split(",") if isinstance(values, str) else values
    cleaned = sorted({v.strip() for v in items if v.strip()})
    for scope in cleaned:
        if scope not in ALL_SCOPES:
            raise ValueError(f"Unknown scope {scope!r}; known: {', '.join(sorted(ALL_SCOPES))}")
    return cleaned
