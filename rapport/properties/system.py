"""The built-in fields of each entity, listed beside custom properties (their keys cannot be
reused for custom ones)."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.models.properties import PropertyEntity, PropertyGroup, PropertyType

G, T = PropertyGroup, PropertyType


@dataclass(frozen=True)
class SystemField:
    key: str
    label: str
    type: PropertyType
    group: PropertyGroup
    options: tuple[str, ...] = ()


_CONTACT = (
    SystemField("email", "Email", T.EMAIL, G.CONTACT_INFO),
    SystemField("name", "Name", T.TEXT, G.BASIC),
    SystemField("givenName", "First name", T.TEXT, G.BASIC),
    SystemField("familyName", "Last name", T.TEXT, G.BASIC),
    SystemField("phone", "Phone", T.PHONE, G.CONTACT_INFO),
    SystemField("externalId", "External id", T.TEXT, G.BASIC),
    SystemField("status", "Status", T.SELECT, G.BASIC, ("ACTIVE", "ARCHIVED", "DELETED")),
    SystemField(
        "lifecycleStage",
        "Lifecycle stage",
        T.SELECT,
        G.BASIC,
        (
            "SUBSCRIBER",
            "LEAD",
            "MARKETING_QUALIFIED",
            "SALES_QUALIFIED",
            "OPPORTUNITY",
            "CUSTOMER",
            "EVANGELIST",
        ),
    ),
    SystemField("ownerUserId", "Owner", T.TEXT, G.BASIC),
    SystemField("lastActivityAt", "Last activity", T.DATETIME, G.BASIC),
    SystemField("createdAt", "Created", T.DATETIME, G.BASIC),
    SystemField("updatedAt", "Updated", T.DATETIME, G.BASIC),
)
_COMPANY = (
    SystemField("name", "Name", T.TEXT, G.BASIC),
    SystemField("domain", "Domain", T.TEXT, G.COMPANY_INFO),
    SystemField("externalId", "External id", T.TEXT, G.BASIC),
    SystemField("industry", "Industry", T.TEXT, G.COMPANY_INFO),
    SystemField("size", "Size", T.TEXT, G.COMPANY_INFO),
    SystemField("plan", "Plan", T.TEXT, G.COMPANY_INFO),
    SystemField("website", "Website", T.URL, G.COMPANY_INFO),
    SystemField("phone", "Phone", T.PHONE, G.COMPANY_INFO),
    SystemField("role", "Role", T.SELECT, G.BASIC, ("prospect", "customer", "vendor", "both")),
    SystemField("status", "Status", T.SELECT, G.BASIC, ("active", "inactive")),
    SystemField("ownerUserId", "Owner", T.TEXT, G.BASIC),
    SystemField("createdAt", "Created", T.DATETIME, G.BASIC),
    SystemField("updatedAt", "Updated", T.DATETIME, G.BASIC),
)
_MEMBERSHIP = (
    SystemField("role", "Role", T.TEXT, G.BASIC),
    SystemField("isPrimary", "Primary company", T.BOOLEAN, G.BASIC),
)

_LEAD = (
    SystemField("title", "Title", T.TEXT, G.BASIC),
    SystemField("value", "Value", T.CURRENCY, G.BASIC),
    SystemField("currency", "Currency", T.TEXT, G.BASIC),
    SystemField("probability", "Probability", T.NUMBER, G.BASIC),
    SystemField("status", "Status", T.SELECT, G.BASIC, ("open", "won", "lost")),
    SystemField("pipelineId", "Pipeline", T.TEXT, G.BASIC),
    SystemField("stageId", "Stage", T.TEXT, G.BASIC),
    SystemField("contactId", "Contact", T.TEXT, G.BASIC),
    SystemField("companyId", "Company", T.TEXT, G.BASIC),
    SystemField("ownerUserId", "Owner", T.TEXT, G.BASIC),
    SystemField("expectedCloseDate", "Expected close date", T.DATE, G.BASIC),
    SystemField("source", "Source", T.TEXT, G.BASIC),
    SystemField("closedAt", "Closed", T.DATETIME, G.BASIC),
    SystemField("lostReason", "Lost reason", T.TEXTAREA, G.BASIC),
    SystemField("createdAt", "Created", T.DATETIME, G.BASIC),
    SystemField("updatedAt", "Updated", T.DATETIME, G.BASIC),
)

SYSTEM_FIELDS: dict[PropertyEntity, tuple[SystemField, ...]] = {
    PropertyEntity.CONTACT: _CONTACT,
    PropertyEntity.COMPANY: _COMPANY,
    PropertyEntity.CONTACT_COMPANY: _MEMBERSHIP,
    PropertyEntity.LEAD: _LEAD,
}
