"""Email consent rules. Marketing email goes only to a contact whose status is `subscribed`
(confirmed through the double opt-in link when the workspace requires it) and whose address
is not on the suppression list; a contact with no consent recorded gets none."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rapport.config import Settings
from rapport.consent.links import EmailLinks, Token
from rapport.consent.repository import ConsentRepository
from rapport.consent.schemas import ConfirmationRequest, EmailSubscriptionOut, EmailSubscriptionPut
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder
from rapport.kit.context import Context
from rapport.kit.errors import Conflict, NotFound, field_error
from rapport.mail.compose import text_of
from rapport.mail.service import ConnectionService, Letter, local_sender
from rapport.mail.transport import maildir_of
from rapport.models.consent import ConsentStatus, EmailConsent
from rapport.suppressions.service import SuppressionService

if TYPE_CHECKING:
    # Only a type: contacts are read through ContactService.
    from rapport.models.contacts import Contact

DOUBLE_OPT_IN = "emailDoubleOptIn"
CONFIRMED_SOURCE = "double opt-in confirmation"

_HELD = {
    ConsentStatus.UNSUBSCRIBED: "Unsubscribed",
    ConsentStatus.PENDING: "Confirmation pending: the double opt-in link was not clicked yet",
    ConsentStatus.BOUNCED: "The address bounced",
    ConsentStatus.COMPLAINED: "Marked a message as spam",
}
NO_CONSENT = "No email consent recorded"
NOT_CONFIRMED = "Subscribed but not confirmed, and this workspace requires double opt-in"
SUPPRESSED = "The address is on the suppression list"
NO_ADDRESS = "The contact has no email address"


class Confirmation(StrEnum):
    CONFIRMED = "confirmed"
    STALE = "stale"
    GONE = "gone"


@dataclass(frozen=True)
class Standing:
    """A contact's email consent and whether campaigns send to it (`reason`: why not)."""

    contact_id: uuid.UUID
    consent: EmailConsent | None
    reason: str | None

    def out(self) -> EmailSubscriptionOut:
        consent = self.consent
        return EmailSubscriptionOut(
            contact_id=self.contact_id,
            status=consent.status if consent else None,
            source=consent.source if consent else None,
            changed_at=consent.changed_at if consent else None,
            confirmation_sent_at=consent.confirmation_sent_at if consent else None,
            confirmed_at=consent.confirmed_at if consent else None,
            confirmation_ip=consent.confirmation_ip if consent else None,
            confirmation_user_agent=consent.confirmation_user_agent if consent else None,
            marketable=self.reason is None,
            reason=self.reason,
        )


def hold_reason(consent: EmailConsent | None, double_opt_in: bool) -> str | None:
    """Why the consent does not allow marketing email, or None when it does."""
    if consent is None:
        return NO_CONSENT
    if consent.status != ConsentStatus.SUBSCRIBED:
        return _HELD[consent.status]
    if double_opt_in and consent.confirmed_at is None:
        return NOT_CONFIRMED
    return None


class ConsentService:
    def __init__(self, context: Context, settings: Settings | None = None) -> None:
        """`settings` (the server's) are needed to send a confirmation email."""
        self.context = context
        self.settings = settings
        self.repo = ConsentRepository(context.session)
        self.contacts = ContactService(context)
        self.suppressions = SuppressionService(context)
        self.events = EventRecorder(context)
        self.double_opt_in = bool(context.workspace_settings.get(DOUBLE_OPT_IN))

    async def standing(self, ref: str) -> Standing:
        contact = await self.contacts.get(ref)
        return (await self.standings([(contact.id, contact.email)]))[contact.id]

    async def standings(
        self, contacts: Collection[tuple[uuid.UUID, str | None]]
    ) -> dict[uuid.UUID, Standing]:
        """Each contact's consent and whether marketing email may go to its address (three
        queries, whatever their number)."""
        consents = await self.repo.of_contacts([contact_id for contact_id, _ in contacts])
        addresses = [email for _, email in contacts if email]
        suppressed = await self.suppressions.suppressed_among(addresses)
        found = {}
        for contact_id, email in contacts:
            consent = consents.get(contact_id)
            reason = hold_reason(consent, self.double_opt_in)
            if not email:
                reason = NO_ADDRESS
            elif email in suppressed:
                reason = SUPPRESSED
            found[contact_id] = Standing(contact_id, consent, reason)
        return found

    async def put(self, ref: str, data: EmailSubscriptionPut) -> Standing:
        """Record the status; an unchanged one changes nothing (no event)."""
        if data.status == ConsentStatus.PENDING:
            raise field_error(
                "status",
                "pending is set by requesting a confirmation email "
                "(POST .../subscriptions/email/request-confirmation)",
            )
        contact = await self.contacts.get(ref)
        await self.change(contact.id, data.status, data.source)
        return await self.standing(str(contact.id))

    async def change(
        self, contact_id: uuid.UUID, status: ConsentStatus, source: str | None
    ) -> EmailConsent:
        """The contact's status becomes `status` (other domains call this: an unsubscribe
        link, a bounce); leaving `subscribed` forgets the confirmation."""
        consent, previous, changed = await self._set(contact_id, status, source)
        if changed:
            self._changed(consent, previous)
        return consent

    async def _set(
        self, contact_id: uuid.UUID, status: ConsentStatus, source: str | None
    ) -> tuple[EmailConsent, ConsentStatus | None, bool]:
        """The consent with its new status, the status before, and whether it changed."""
        await self.contacts.lock(contact_id)
        consent = await self.repo.of_contact(contact_id)
        now = self.context.clock()
        if consent is None:
            consent = self.repo.add(
                EmailConsent(contact_id=contact_id, status=status, source=source, changed_at=now)
            )
            previous = None
        elif consent.status == status and consent.source == source:
            return consent, status, False
        else:
            previous = consent.status
            consent.status, consent.source, consent.changed_at = status, source, now
        if status != ConsentStatus.SUBSCRIBED:
            consent.confirmed_at = None
            consent.confirmation_ip = consent.confirmation_user_agent = None
        await self.repo.flush()
        return consent, previous, True

    async def request_confirmation(self, ref: str, data: ConfirmationRequest) -> Standing:
        """Send the double opt-in email now; the status becomes `pending` until its link is
        followed (a contact already subscribed and confirmed is refused: 409)."""
        contact = await self.contacts.get(ref)
        standing = await self.standing(str(contact.id))
        consent = standing.consent
        if contact.email is None:
            raise Conflict("The contact has no email address", code="NO_EMAIL_ADDRESS")
        if standing.reason == SUPPRESSED:
            raise Conflict(
                "The contact's address is on the suppression list", code="EMAIL_SUPPRESSED"
            )
        if consent is not None and consent.confirmed_at is not None:
            raise Conflict("The contact already confirmed", code="ALREADY_CONFIRMED")
        sent_at = self.context.clock().replace(microsecond=0)  # the link's time, to the second
        await self._send_confirmation(contact.id, contact.email, data.connection_id, sent_at)
        consent = await self.change(contact.id, ConsentStatus.PENDING, "confirmation requested")
        consent.confirmation_sent_at = sent_at
        await self.repo.flush()
        return await self.standing(str(contact.id))

    async def live(self, contact_id: uuid.UUID) -> Contact | None:
        """The contact a link names as it is now: the one it was merged into, if it was;
        None once it is deleted."""
        try:
            contact = await self.contacts.get(str(contact_id))
        except NotFound:
            return None
        return None if contact.status == "DELETED" else contact

    async def confirm(self, token: Token, ip: str | None, user_agent: str | None) -> Confirmation:
        """The person followed the confirmation link: subscribed and confirmed. Only the
        link of the confirmation still pending counts: once confirmed, again changes nothing;
        a link older than the last request, or followed after the status changed since
        (unsubscribed, bounced), confirms nothing."""
        contact = await self.live(token.subject_id)
        if contact is None:
            return Confirmation.GONE
        consent = await self.repo.of_contact(contact.id)
        if (
            consent is not None
            and consent.status == ConsentStatus.SUBSCRIBED
            and consent.confirmed_at is not None
        ):
            return Confirmation.CONFIRMED
        # The request is the one of the contact the link went to (merged since: its own).
        asked = consent if contact.id == token.subject_id else None
        if asked is None:
            asked = await self.repo.of_contact(token.subject_id)
        sent = asked.confirmation_sent_at if asked is not None else None
        if (
            asked is None
            or asked.status != ConsentStatus.PENDING
            or sent is None
            or token.issued < int(sent.timestamp())
            or (consent is not None and consent is not asked and consent.changed_at > sent)
        ):
            return Confirmation.STALE
        consent, previous, _ = await self._set(
            contact.id, ConsentStatus.SUBSCRIBED, CONFIRMED_SOURCE
        )
        consent.confirmed_at = self.context.clock()
        consent.confirmation_ip = ip[:45] if ip else None
        consent.confirmation_user_agent = user_agent[:500] if user_agent else None
        await self.repo.flush()
        self._changed(consent, previous, confirmed=True)
        return Confirmation.CONFIRMED

    async def _send_confirmation(
        self,
        contact_id: uuid.UUID,
        address: str,
        connection_id: uuid.UUID | None,
        sent_at: datetime,
    ) -> None:
        if self.settings is None:
            raise RuntimeError("Sending a confirmation email needs the server's settings")
        settings = self.settings
        connections = ConnectionService(
            self.context,
            allow_private=settings.allow_private_smtp,
            secret_key=settings.resolved_secret_key(),
        )
        connection = await connections.pick(connection_id)
        link = EmailLinks.of(settings).confirmation(self.context.workspace_id, contact_id, sent_at)
        html = (
            "<p>Please confirm that you want to receive our emails.</p>"
            f'<p><a href="{link}">Confirm my subscription</a></p>'
            "<p>If you did not ask for this, ignore this email: nothing will be sent.</p>"
        )
        letter = Letter(
            subject="Please confirm your subscription",
            html=html,
            text=text_of(html),
            from_address=(
                connection.from_address
                if connection
                else local_sender(settings.resolved_public_url)
            ),
            from_name=connection.from_name if connection else None,
        )
        maildir = maildir_of(settings.data_dir, self.context.workspace_id)
        await connections.send_now(connection, maildir, [address], letter)

    def _changed(
        self, consent: EmailConsent, previous: ConsentStatus | None, *, confirmed: bool = False
    ) -> None:
        data: dict[str, Any] = {
            "contactId": str(consent.contact_id),
            "status": consent.status.value,
            "previousStatus": previous.value if previous else None,
            "source": consent.source,
            "confirmed": confirmed,
        }
        self.events.record("contact.email_consent_changed", "contact", consent.contact_id, data)
