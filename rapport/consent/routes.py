"""HTTP routes of a contact's email consent."""

from __future__ import annotations

from typing import Any

from rapport.consent.deps import ConsentRead, ConsentWrite
from rapport.consent.schemas import ConfirmationRequest, EmailSubscriptionOut, EmailSubscriptionPut
from rapport.contacts.schemas import ContactRef
from rapport.kit.envelope import Envelope
from rapport.kit.errors import documented_errors
from rapport.kit.session import api_router

router = api_router(tags=["Contacts"])

_CONTACT_404 = documented_errors({404: "No such contact in this workspace"})
_CONFIRMATION_ERRORS: dict[int | str, dict[str, Any]] = documented_errors(
    {
        404: "No such contact in this workspace",
        409: "`NO_EMAIL_ADDRESS`: the contact has none; `EMAIL_SUPPRESSED`: its address is on "
        "the suppression list; `ALREADY_CONFIRMED`: it confirmed before",
        422: "No such connection (`connectionId`)",
        502: "`EMAIL_NOT_SENT`: the mail server did not take the email (its reply is in the "
        "message); nothing changed",
    }
)


@router.get(
    "/contacts/{ref}/subscriptions/email",
    summary="The contact's email consent, and whether campaigns send to it",
    responses=_CONTACT_404,
)
async def get_email_subscription(
    ref: ContactRef, consent: ConsentRead
) -> Envelope[EmailSubscriptionOut]:
    """The contact's email status (`subscribed`, `unsubscribed`, `pending`, `bounced`,
    `complained`, or null when none was recorded), where it came from, the double opt-in
    confirmation (when, from which address and browser), and `marketable`: whether campaigns
    send to it now, with the `reason` when they do not (no consent, not confirmed while the
    workspace requires double opt-in, suppressed address, no address)."""
    return Envelope(data=(await consent.standing(ref)).out())


@router.put(
    "/contacts/{ref}/subscriptions/email",
    summary="Record the contact's email consent",
    responses={**_CONTACT_404, **documented_errors({422: "`status` pending, or not a status"})},
)
async def put_email_subscription(
    ref: ContactRef, body: EmailSubscriptionPut, consent: ConsentWrite
) -> Envelope[EmailSubscriptionOut]:
    """Sets the status with its source; the same status and source again changes nothing.
    Leaving `subscribed` forgets a double opt-in confirmation. Each change is a
    `contact.email_consent_changed` event."""
    return Envelope(data=(await consent.put(ref, body)).out())


@router.post(
    "/contacts/{ref}/subscriptions/email/request-confirmation",
    summary="Send the contact a double opt-in email now",
    responses=_CONFIRMATION_ERRORS,
)
async def request_email_confirmation(
    ref: ContactRef, body: ConfirmationRequest, consent: ConsentWrite
) -> Envelope[EmailSubscriptionOut]:
    """Sends an email whose link confirms the subscription (valid 30 days) through the
    connection given, the workspace's first one, or with none into the local maildir
    (`<data dir>/maildir/<workspace>/new`). The status becomes `pending` until the person
    follows the link, which subscribes and confirms them, recording the time, client address
    and browser."""
    return Envelope(data=(await consent.request_confirmation(ref, body)).out())
