"""ORM tables, one module per aggregate. Importing this package registers every table."""

from rapport.kit.idempotency_record import IdempotencyRecord
from rapport.models.activities import Activity, ActivityModule, ActivityType
from rapport.models.auth import ApiKey
from rapport.models.campaigns import (
    BounceType,
    Campaign,
    CampaignInteraction,
    CampaignMessage,
    CampaignStatus,
    CampaignTally,
    InteractionKind,
    MessageStatus,
)
from rapport.models.companies import Company, CompanyMembership, CompanyRole, CompanyStatus
from rapport.models.consent import ConsentStatus, EmailConsent
from rapport.models.contacts import Contact, ContactStatus, LifecycleStage, LiveCount
from rapport.models.events import Event, EventCursor
from rapport.models.exports import Export, ExportEntity, ExportFormat, ExportStatus
from rapport.models.imports import DedupMode, Import, ImportRowError, ImportStatus
from rapport.models.jobs import Job, JobState
from rapport.models.leads import Lead, LeadStageChange
from rapport.models.lists import ListEntity, ListMember, SegmentList
from rapport.models.mail import (
    MailChannel,
    OutboundEmail,
    OutboundEmailConnection,
    OutboundEmailStatus,
    TlsMode,
)
from rapport.models.pipelines import Pipeline, PipelineStage, StageKind
from rapport.models.properties import (
    PropertyDefinition,
    PropertyEntity,
    PropertyGroup,
    PropertyType,
    PropertyValue,
)
from rapport.models.suppressions import Suppression, SuppressionReason
from rapport.models.sync import SyncLink, SyncProvider
from rapport.models.tags import CompanyTag, ContactTag, Tag
from rapport.models.templates import EmailTemplate
from rapport.models.tenancy import Membership, MembershipRole, Tenant, User
from rapport.models.todos import Task, TaskStatus
from rapport.models.webhooks import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)

__all__ = [
    "Activity",
    "ActivityModule",
    "ActivityType",
    "ApiKey",
    "BounceType",
    "Campaign",
    "CampaignInteraction",
    "CampaignMessage",
    "CampaignStatus",
    "CampaignTally",
    "Company",
    "CompanyMembership",
    "CompanyRole",
    "CompanyStatus",
    "CompanyTag",
    "ConsentStatus",
    "Contact",
    "ContactStatus",
    "ContactTag",
    "DedupMode",
    "DeliveryStatus",
    "EmailConsent",
    "EmailTemplate",
    "Event",
    "EventCursor",
    "Export",
    "ExportEntity",
    "ExportFormat",
    "ExportStatus",
    "IdempotencyRecord",
    "Import",
    "ImportRowError",
    "ImportStatus",
    "InteractionKind",
    "Job",
    "JobState",
    "Lead",
    "LeadStageChange",
    "LifecycleStage",
    "ListEntity",
    "ListMember",
    "LiveCount",
    "MailChannel",
    "Membership",
    "MembershipRole",
    "MessageStatus",
    "OutboundEmail",
    "OutboundEmailConnection",
    "OutboundEmailStatus",
    "Pipeline",
    "PipelineStage",
    "PropertyDefinition",
    "PropertyEntity",
    "PropertyGroup",
    "PropertyType",
    "PropertyValue",
    "SegmentList",
    "StageKind",
    "Suppression",
    "SuppressionReason",
    "SyncLink",
    "SyncProvider",
    "Tag",
    "Task",
    "TaskStatus",
    "Tenant",
    "TlsMode",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
