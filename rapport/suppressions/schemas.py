"""Wire shapes of the suppression list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from rapport.kit.db import Choice
from rapport.kit.schemas import InputModel, WireModel
from rapport.models.suppressions import SuppressionReason

_HASH_DOC = "SHA-256 (hex) of the trimmed, lowercase address: how the list recognises it"
_SOURCE_DOC = "Free text: where the entry came from (a campaign, a form, a person)"
_EXAMPLE_HASH = "e19335cf67a7ba7ae5769a0f5eaaea3440d85787cb621261d0863c553455d05c"


class AddedReason(Choice):
    """Why an address is put on the list through the API (`erased` entries are recorded by
    erasing a contact, `POST /contacts/{ref}/erase`)."""

    MANUAL = "manual"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class SuppressionOut(WireModel):
    id: uuid.UUID
    email: str | None = Field(
        description="The address, lowercase; null for an erased person, of whom only the hash "
        "is kept",
        examples=["bounced@example.com"],
    )
    email_hash: str = Field(description=_HASH_DOC, examples=[_EXAMPLE_HASH])
    reason: SuppressionReason = Field(
        description="erased (the person was erased), manual, bounced or complained",
        examples=[SuppressionReason.MANUAL],
    )
    source: str | None = Field(description=_SOURCE_DOC, examples=["Unsubscribe form"])
    created_at: datetime


class SuppressionCreate(InputModel):
    """An address to keep out of every sending."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "no-more-mail@example.com", "reason": "manual", "source": "Phone call"}
            ]
        }
    )

    email: str = Field(
        max_length=320,
        description="An email address; stored lowercase",
        examples=["no-more-mail@example.com"],
    )
    reason: AddedReason = Field(
        default=AddedReason.MANUAL,
        description="manual (the default), bounced or complained, in any case",
        examples=[AddedReason.MANUAL],
    )
    source: str | None = Field(
        default=None, max_length=200, description=_SOURCE_DOC, examples=["Phone call"]
    )

    @field_validator("reason", mode="before")
    @classmethod
    def _not_erased(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().casefold() == SuppressionReason.ERASED:
            raise ValueError(
                "Entries for erased people are recorded by erasing the contact "
                "(POST /contacts/{ref}/erase)"
            )
        return value
