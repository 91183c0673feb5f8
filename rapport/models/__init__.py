"""ORM tables, one module per aggregate. Importing this package registers every table."""

from rapport.models.auth import ApiKey
from rapport.models.contacts import Contact, ContactStatus, LifecycleStage
from rapport.models.events import Event
from rapport.models.idempotency import IdempotencyRecord
from rapport.models.jobs import Job, JobState
from rapport.models.tenancy import Membership, MembershipRole, Tenant, TenantOwned, User

__all__ = [
    "ApiKey",
    "Contact",
    "ContactStatus",
    "Event",
    "IdempotencyRecord",
    "Job",
    "JobState",
    "LifecycleStage",
    "Membership",
    "MembershipRole",
    "Tenant",
    "TenantOwned",
    "User",
]
