"""Sync links: where a contact lives in other systems (CRMs, mailing tools, a workspace's own
scripts), as recorded by the tools that keep those copies in step."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class SyncProvider(Choice):
    HUBSPOT = "HUBSPOT"
    MAILCHIMP = "MAILCHIMP"
    SALESFORCE = "SALESFORCE"
    PIPEDRIVE = "PIPEDRIVE"
    CUSTOM = "CUSTOM"


class SyncLink(TenantOwned, IdMixin, TimestampMixin, Base):
    """A contact's record in one integration: its id there, when it was last synced and a hash
    of what was last sent. A contact has at most one link per integration, and one outside
    record (integration key + external id) maps to one contact."""

    __tablename__ = "sync_links"
    __table_args__ = (
        Index(
            "uq_sync_links_tenant_contact_key",
            "tenant_id",
            "contact_id",
            "integration_key",
            unique=True,
        ),
        # Also serves the reverse lookup of one outside record.
        Index(
            "uq_sync_links_tenant_key_external_id",
            "tenant_id",
            "integration_key",
            "external_id",
            unique=True,
        ),
        # The reverse lookup of a whole integration, paged in its default order.
        Index(
            "ix_sync_links_tenant_key_created", "tenant_id", "integration_key", "created_at", "id"
        ),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    integration_key: Mapped[str] = mapped_column(
        String(64), doc="The caller's name of one integration: `hubspot-production`"
    )
    provider: Mapped[SyncProvider] = mapped_column(enum_type(SyncProvider))
    integration_name: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(255), doc="The contact's id in that system")
    last_synced_at: Mapped[datetime | None]
    sync_hash: Mapped[str | None] = mapped_column(String(128), doc="Of what was last sent")
