"""ORM tables, one module per aggregate. Importing this package registers every table."""

from rapport.models.auth import ApiKey
from rapport.models.companies import Company, CompanyMembership, CompanyRole, CompanyStatus
from rapport.models.contacts import Contact, ContactStatus, LifecycleStage
from rapport.models.events import Event, EventCursor
from rapport.models.idempotency import IdempotencyRecord
from rapport.models.jobs import Job, JobState
from rapport.models.tenancy import Membership, MembershipRole, Tenant, TenantOwned, User
from rapport.models.webhooks import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)

__all__ = [
    "ApiKey",
    "Company",
    "CompanyMembership",
    "CompanyRole",
    "CompanyStatus",
    "Contact",
    "ContactStatus",
    "DeliveryStatus",
    "Event",
    "EventCursor",
    "IdempotencyRecord",
    "Job",
    "JobState",
    "LifecycleStage",
    "Membership",
    "MembershipRole",
    "Tenant",
    "TenantOwned",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
