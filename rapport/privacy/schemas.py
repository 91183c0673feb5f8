"""Wire shapes of a person's export and erasure."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.activities.schemas import ActivityOut
from rapport.campaigns.schemas import RecipientOut
from rapport.companies.schemas import MembershipOut
from rapport.consent.schemas import EmailSubscriptionOut
from rapport.contacts.schemas import ContactOut
from rapport.events.schemas import EventOut
from rapport.kit.schemas import InputModel, WireModel
from rapport.mail.schemas import OutboundEmailOut
from rapport.sales.lead_schemas import LeadOut
from rapport.sync.schemas import SyncLinkOut
from rapport.tags.schemas import TagOut
from rapport.todos.schemas import TaskOut
from rapport.webhooks.schemas import DeliveryOut

REASON_LENGTH = 200


class ListMembershipOut(WireModel):
    list_id: uuid.UUID
    list_name: str = Field(examples=["Newsletter"])
    contact_id: uuid.UUID = Field(description="The contact in the list (a merged one included)")
    added_at: datetime


class ContactExport(WireModel):
    """Everything the workspace holds on one person."""

    contact: ContactOut = Field(description="The contact, its custom properties included")
    merged_contacts: list[ContactOut] = Field(
        description="The contacts merged into it: records of the same person"
    )
    activities: list[ActivityOut] = Field(
        description="Activities about the person, notes (type NOTE) included, oldest first"
    )
    company_memberships: list[MembershipOut]
    tags: list[TagOut]
    leads: list[LeadOut]
    lists: list[ListMembershipOut]
    tasks: list[TaskOut]
    outbound_emails: list[OutboundEmailOut] = Field(description="Emails written to the person")
    email_consents: list[EmailSubscriptionOut] = Field(
        description="The email consent of each of the person's contacts"
    )
    campaign_messages: list[RecipientOut] = Field(
        description="Campaign messages sent (or meant) to the person"
    )
    events: list[EventOut] = Field(
        description="The audit log about the person: events of their contacts and of the "
        "records naming them as their contact, in the order they were written"
    )
    webhook_deliveries: list[DeliveryOut] = Field(
        description="Deliveries of those events to the workspace's webhooks"
    )
    sync_links: list[SyncLinkOut] = Field(description="Where the person lives in other systems")
    exported_at: datetime


class ErasureRequest(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Asked by the person, ticket 4711"}]}
    )

    reason: str | None = Field(
        default=None,
        max_length=REASON_LENGTH,
        description="Why, for the caller's own records: Rapport stores none of it (it might "
        "name the person)",
    )


class ErasureSummary(WireModel):
    """What an erasure did, counted: no personal data."""

    contact_ids: list[uuid.UUID] = Field(
        description="The contacts deleted: the one named and those merged into it"
    )
    activities_redacted: int = Field(examples=[12])
    tasks_redacted: int = Field(examples=[1])
    leads_unlinked: int = Field(examples=[2])
    company_memberships_deleted: int = Field(examples=[1])
    tags_removed: int = Field(examples=[3])
    list_memberships_deleted: int = Field(examples=[2])
    sync_links_deleted: int = Field(examples=[1])
    outbound_emails_redacted: int = Field(examples=[4])
    campaign_messages_redacted: int = Field(
        description="Campaign messages kept for the campaigns' counts, without address",
        examples=[3],
    )
    events_redacted: int = Field(examples=[40])
    webhook_deliveries_redacted: int = Field(examples=[40])
    emails_suppressed: int = Field(
        description="Addresses of the person recorded (as hashes) on the suppression list",
        examples=[1],
    )
