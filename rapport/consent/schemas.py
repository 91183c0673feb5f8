"""Wire shapes of email consent."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel, WireModel
from rapport.models.consent import ConsentStatus

_CONTACT = "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"
SOURCE_LENGTH = 200


class EmailSubscriptionOut(WireModel):
    contact_id: uuid.UUID = Field(examples=[_CONTACT])
    status: ConsentStatus | None = Field(
        description="Null when no consent was ever recorded (no marketing email is sent then)",
        examples=[ConsentStatus.SUBSCRIBED],
    )
    source: str | None = Field(
        description="Where the status came from, as recorded", examples=["signup form"]
    )
    changed_at: datetime | None = Field(description="When the status last changed")
    confirmation_sent_at: datetime | None = Field(
        description="When the last double opt-in email was sent"
    )
    confirmed_at: datetime | None = Field(
        description="When the person confirmed through the double opt-in link"
    )
    confirmation_ip: str | None = Field(description="The client address that confirmed")
    confirmation_user_agent: str | None = Field(description="The browser that confirmed")
    marketable: bool = Field(
        description="Whether campaigns send to the contact now (the workspace's double opt-in "
        "setting and the suppression list included)"
    )
    reason: str | None = Field(
        description="Why campaigns do not send to the contact, when they do not",
        examples=[None],
    )


class EmailSubscriptionPut(InputModel):
    """The contact's email status as the caller knows it (a signup form, an import, a
    preference centre). `pending` is set by requesting a confirmation, not here."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "subscribed", "source": "signup form"}]}
    )

    status: ConsentStatus = Field(description="subscribed, unsubscribed, bounced or complained")
    source: str | None = Field(default=None, max_length=SOURCE_LENGTH)


class ConfirmationRequest(InputModel):
    """Which outbound email connection sends the confirmation email."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    connection_id: uuid.UUID | None = Field(
        default=None,
        description="Send through this connection; by default the workspace's first one, and "
        "with none the local maildir under the data directory",
    )
