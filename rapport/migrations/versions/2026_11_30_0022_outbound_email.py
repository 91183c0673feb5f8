"""outbound email: SMTP connections and the emails sent through them

Revision ID: 0022
Revises: 0020
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def _stamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "outbound_email_connections",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", _choice("mailchannel", "smtp", "gmail", "outlook"), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("tls_mode", _choice("tlsmode", "none", "starttls", "tls"), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("encrypted_password", sa.String(length=1024), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbound_email_connections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_email_connections")),
    )
    with op.batch_alter_table("outbound_email_connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_email_connections_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "uq_outbound_email_connections_tenant_name", ["tenant_id", "name"], unique=True
        )

    op.create_table(
        "outbound_emails",
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("activity_id", sa.Uuid(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column(
            "status", _choice("outboundemailstatus", "queued", "sent", "failed"), nullable=False
        ),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["outbound_email_connections.id"],
            name=op.f("fk_outbound_emails_connection_id_outbound_email_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_outbound_emails_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_outbound_emails_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbound_emails_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_emails")),
    )
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_emails_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_emails_tenant_id"))
    op.drop_table("outbound_emails")

    with op.batch_alter_table("outbound_email_connections", schema=None) as batch_op:
        batch_op.drop_index("uq_outbound_email_connections_tenant_name")
        batch_op.drop_index(batch_op.f("ix_outbound_email_connections_tenant_id"))
    op.drop_table("outbound_email_connections")
