"""campaigns: email consent per contact, campaigns, one message row per recipient, and
the opens and clicks of each message

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("preheader", sa.String(length=300), nullable=True),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("track_opens", sa.Boolean(), nullable=False),
        sa.Column("track_clicks", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            _choice(
                "campaignstatus",
                "draft",
                "scheduled",
                "sending",
                "paused",
                "sent",
                "cancelled",
                "failed",
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["outbound_email_connections.id"],
            name=op.f("fk_campaigns_connection_id_outbound_email_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_campaigns_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_status_scheduled", "campaigns", ["status", "scheduled_at"])
    op.create_index("ix_campaigns_tenant_created", "campaigns", ["tenant_id", "created_at", "id"])
    op.create_index(op.f("ix_campaigns_tenant_id"), "campaigns", ["tenant_id"])
    op.create_table(
        "email_consents",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            _choice(
                "consentstatus", "subscribed", "unsubscribed", "pending", "bounced", "complained"
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmation_ip", sa.String(length=45), nullable=True),
        sa.Column("confirmation_user_agent", sa.String(length=500), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_email_consents_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_email_consents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_consents")),
    )
    op.create_index(op.f("ix_email_consents_tenant_id"), "email_consents", ["tenant_id"])
    op.create_index(
        "uq_email_consents_tenant_contact",
        "email_consents",
        ["tenant_id", "contact_id"],
        unique=True,
    )
    op.create_table(
        "campaign_messages",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "status",
            _choice("messagestatus", "queued", "sent", "failed", "skipped"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounce_type", _choice("bouncetype", "hard", "soft"), nullable=True),
        sa.Column("complained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_messages_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_campaign_messages_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_campaign_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_messages")),
    )
    op.create_index(
        "ix_campaign_messages_tenant_campaign_chunk",
        "campaign_messages",
        ["tenant_id", "campaign_id", "chunk"],
    )
    op.create_index(
        "ix_campaign_messages_tenant_campaign_status",
        "campaign_messages",
        ["tenant_id", "campaign_id", "status"],
    )
    op.create_index(op.f("ix_campaign_messages_tenant_id"), "campaign_messages", ["tenant_id"])
    op.create_index(
        "uq_campaign_messages_tenant_campaign_contact",
        "campaign_messages",
        ["tenant_id", "campaign_id", "contact_id"],
        unique=True,
    )
    op.create_table(
        "campaign_interactions",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _choice("interactionkind", "opened", "clicked"), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_interactions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["campaign_messages.id"],
            name=op.f("fk_campaign_interactions_message_id_campaign_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_campaign_interactions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_interactions")),
    )
    op.create_index(
        "ix_campaign_interactions_tenant_campaign_kind_at",
        "campaign_interactions",
        ["tenant_id", "campaign_id", "kind", "at"],
    )
    op.create_index(
        op.f("ix_campaign_interactions_tenant_id"), "campaign_interactions", ["tenant_id"]
    )
    op.create_index(
        "ix_campaign_interactions_tenant_message",
        "campaign_interactions",
        ["tenant_id", "message_id"],
    )


def downgrade() -> None:
    op.drop_table("campaign_interactions")
    op.drop_table("campaign_messages")
    op.drop_table("email_consents")
    op.drop_table("campaigns")
