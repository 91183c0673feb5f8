"""email templates: subject, preheader and bodies with merge tags

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_templates",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("preheader", sa.String(length=1000), nullable=True),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_email_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_templates")),
    )
    op.create_index(op.f("ix_email_templates_tenant_id"), "email_templates", ["tenant_id"])
    op.create_index(
        "uq_email_templates_tenant_name", "email_templates", ["tenant_id", "name"], unique=True
    )
    op.create_index(
        "ix_email_templates_tenant_created", "email_templates", ["tenant_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_email_templates_tenant_created", table_name="email_templates")
    op.drop_index("uq_email_templates_tenant_name", table_name="email_templates")
    op.drop_index(op.f("ix_email_templates_tenant_id"), table_name="email_templates")
    op.drop_table("email_templates")
