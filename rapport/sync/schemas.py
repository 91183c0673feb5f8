"""Wire shapes of sync status."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel, UtcDateTime, WireModel
from rapport.models.sync import SyncProvider

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
KEY_LENGTH = 64
KEY_DOC = (
    "The caller's own name of one integration: lowercase letters, digits, - and _, starting "
    "with a letter or digit"
)
_EXTERNAL_ID_DOC = "The contact's id in that system"
_SYNCED_AT = "2026-11-23T09:30:00Z"
_HASH = "9f86d081884c7d659a2feaa0c55ad015"


class SyncLinkOut(WireModel):
    integration_key: str = Field(description=KEY_DOC, examples=["hubspot-production"])
    provider: SyncProvider = Field(examples=[SyncProvider.HUBSPOT])
    integration_name: str | None = Field(examples=["HubSpot (production)"])
    external_id: str = Field(description=_EXTERNAL_ID_DOC, examples=["5101"])
    last_synced_at: datetime | None = Field(examples=[_SYNCED_AT])
    sync_hash: str | None = Field(description="Of what was last sent", examples=[_HASH])
    created_at: datetime
    updated_at: datetime


class SyncLinkFound(SyncLinkOut):
    """A link found by the reverse lookup, with the contact it belongs to."""

    contact_id: uuid.UUID = Field(examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"])


class SyncStatusOut(WireModel):
    contact_id: uuid.UUID = Field(examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"])
    external_id: str | None = Field(
        description="The contact's own externalId in Rapport", examples=["crm-1042"]
    )
    integrations: list[SyncLinkOut] = Field(description="By integrationKey")


class SyncLinkPut(InputModel):
    """The contact's record in one integration; replaces what was recorded (fields not sent
    become null)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "HUBSPOT",
                    "externalId": "5101",
                    "integrationName": "HubSpot (production)",
                    "lastSyncedAt": _SYNCED_AT,
                    "syncHash": _HASH,
                }
            ]
        }
    )

    provider: SyncProvider = Field(
        description="The kind of system (CUSTOM for one of your own)",
        examples=[SyncProvider.HUBSPOT],
    )
    external_id: str = Field(
        min_length=1,
        max_length=255,
        description=f"{_EXTERNAL_ID_DOC}; one record of an integration maps to one contact",
        examples=["5101"],
    )
    integration_name: str | None = Field(
        default=None, max_length=200, description="Display name", examples=["HubSpot (production)"]
    )
    last_synced_at: UtcDateTime | None = Field(
        default=None,
        description="When the tool last synced the contact (ISO 8601, stored as UTC)",
        examples=[_SYNCED_AT],
    )
    sync_hash: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Of what was last sent, stored as given",
        examples=[_HASH],
    )
