"""sync links: contacts' records in other systems

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_links",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("integration_key", sa.String(length=64), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "HUBSPOT",
                "MAILCHIMP",
                "SALESFORCE",
                "PIPEDRIVE",
                "CUSTOM",
                name="syncprovider",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("integration_name", sa.String(length=200), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_hash", sa.String(length=128), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_sync_links_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sync_links_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_links")),
    )
    with op.batch_alter_table("sync_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_links_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_sync_links_tenant_key_created",
            ["tenant_id", "integration_key", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_sync_links_tenant_contact_key",
            ["tenant_id", "contact_id", "integration_key"],
            unique=True,
        )
        batch_op.create_index(
            "uq_sync_links_tenant_key_external_id",
            ["tenant_id", "integration_key", "external_id"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_links", schema=None) as batch_op:
        batch_op.drop_index("uq_sync_links_tenant_key_external_id")
        batch_op.drop_index("uq_sync_links_tenant_contact_key")
        batch_op.drop_index("ix_sync_links_tenant_key_created")
        batch_op.drop_index(batch_op.f("ix_sync_links_tenant_id"))

    op.drop_table("sync_links")
