"""A person's data across every domain: the export of all of it, and its erasure.

A person is a contact and the contacts merged into it. The erasure deletes what only
describes them and redacts what the workspace keeps for its own records and figures
(docs/privacy.md): it runs in one transaction, so it happens whole or not at all.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from rapport.activities.schemas import ActivityOut
from rapport.activities.service import ActivityService
from rapport.campaigns.schemas import RecipientOut
from rapport.campaigns.service import MessagesToContacts
from rapport.companies.schemas import MembershipOut
from rapport.companies.service import MembershipService
from rapport.consent.service import ConsentService
from rapport.contacts.erasure import ContactErasure
from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import ContactService
from rapport.events.schemas import EventOut
from rapport.events.service import EventRecorder, EventService
from rapport.kit import hooks
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.errors import NotFound
from rapport.lists.service import ListService
from rapport.mail.schemas import OutboundEmailOut
from rapport.mail.service import EmailsToContacts
from rapport.privacy.schemas import ContactExport, ErasureSummary, ListMembershipOut
from rapport.sales.leads import LeadService
from rapport.suppressions.service import SuppressionService
from rapport.sync.schemas import SyncLinkOut
from rapport.sync.service import SyncStatusService
from rapport.tags.schemas import TagOut
from rapport.tags.service import TaggingService
from rapport.todos.schemas import TaskOut
from rapport.todos.service import TaskService
from rapport.webhooks.schemas import DeliveryOut
from rapport.webhooks.service import DeliveryLog

if TYPE_CHECKING:
    # Only a type: contacts are read through ContactService.
    from rapport.models.contacts import Contact


class PrivacyService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.contacts = ContactService(context)
        self.erasure = ContactErasure(context)
        self.activities = ActivityService(context)
        self.tasks = TaskService(context)
        self.memberships = MembershipService(context)
        self.tags = TaggingService.of_contacts(context)
        self.leads = LeadService(context)
        self.lists = ListService(context)
        self.sync = SyncStatusService(context)
        self.emails = EmailsToContacts(context)
        self.consent = ConsentService(context)
        self.campaign_messages = MessagesToContacts(context)
        self.events = EventService(context)
        self.deliveries = DeliveryLog(context)
        self.suppressions = SuppressionService(context)
        self.recorder = EventRecorder(context)

    async def export(self, ref: str) -> ContactExport:
        """Everything held on the person the contact `ref` names (a merged contact names
        the contact it was merged into)."""
        contact = await self.contacts.get(ref)
        people = await self.erasure.with_merged(contact)
        ids = [person.id for person in people]
        about = await self._records_about(people)
        return ContactExport(
            contact=ContactOut.model_validate(contact),
            merged_contacts=[ContactOut.model_validate(person) for person in people[1:]],
            activities=[ActivityOut.of(a) for a in await self.activities.of_contacts(ids)],
            company_memberships=[
                MembershipOut.model_validate(m) for m in await self.memberships.of_contacts(ids)
            ],
            tags=[TagOut.model_validate(tag) for tag in await self.tags.tags_of(str(contact.id))],
            leads=await self.leads.out(await self.leads.of_contacts(ids)),
            lists=[
                ListMembershipOut(
                    list_id=segment.id, list_name=segment.name, contact_id=member, added_at=added
                )
                for segment, member, added in await self.lists.memberships_of(ids)
            ],
            tasks=[TaskOut.model_validate(task) for task in await self.tasks.of_contacts(ids)],
            outbound_emails=[OutboundEmailOut.of(e) for e in await self.emails.of_contacts(ids)],
            email_consents=[
                standing.out()
                for standing in (
                    await self.consent.standings([(p.id, p.email) for p in people])
                ).values()
                if standing.consent is not None
            ],
            campaign_messages=[
                RecipientOut.model_validate(m)
                for m in await self.campaign_messages.of_contacts(ids)
            ],
            events=[EventOut.of(event) for event in await self.events.about(about)],
            webhook_deliveries=[
                DeliveryOut.model_validate(d)
                for d in await self.deliveries.of_events(self.events.ids_about(about))
            ],
            sync_links=[SyncLinkOut.model_validate(link) for link in await self.sync.links_of(ids)],
            exported_at=utcnow(),
        )

    async def erase(self, ref: str) -> ErasureSummary:
        """Delete the person the contact `ref` names and their personal data, for good."""
        contact = await self.contacts.get(ref)
        await self.contacts.lock(contact.id)
        people = await self.erasure.with_merged(contact)
        ids = [person.id for person in people]
        emails = sorted({person.email for person in people if person.email})
        about = await self._records_about(people)
        # Deliveries are found through the events they carry: before those are redacted.
        deliveries = await self.deliveries.redact(self.events.ids_about(about))
        events = await self.events.redact_about(about)
        leads = len(await self.leads.of_contacts(ids))
        lists = len(await self.lists.memberships_of(ids))
        for contact_id in ids:
            # Leads let go of the contact, lists drop it: as before any removal.
            await hooks.removing(self.context, "contact", contact_id)
            await self.contacts.rules.forget(contact_id)
        summary = ErasureSummary(
            contact_ids=ids,
            activities_redacted=await self.activities.redact_of_contacts(ids),
            tasks_redacted=await self.tasks.redact_of_contacts(ids),
            leads_unlinked=leads,
            company_memberships_deleted=await self.memberships.delete_of_contacts(ids),
            tags_removed=await self.tags.untag_all(ids),
            list_memberships_deleted=lists,
            sync_links_deleted=await self.sync.unlink_all(ids),
            outbound_emails_redacted=await self.emails.redact(ids),
            campaign_messages_redacted=await self.campaign_messages.redact(ids),
            events_redacted=events,
            webhook_deliveries_redacted=deliveries,
            emails_suppressed=len(emails),
        )
        for email in emails:
            await self.suppressions.record_erased(email)
        if await self.erasure.delete(ids) != len(ids):
            raise NotFound("Contact not found")  # erased meanwhile by another request
        for contact_id in ids:
            self.recorder.record("contact.erased", "contact", contact_id, {})
        return summary

    async def _records_about(self, people: list[Contact]) -> list[uuid.UUID]:
        """The ids whose events are about the person: their contacts', and those of their
        addresses' suppression entries (whose events carry the address)."""
        emails = {person.email for person in people if person.email}
        return [person.id for person in people] + await self.suppressions.ids_of(emails)
