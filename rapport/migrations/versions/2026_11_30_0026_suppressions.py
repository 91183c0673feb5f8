"""suppressions: a workspace's suppression list, by email hash (erased people, with no
address kept)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.kit.db

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "erased",
                "manual",
                "bounced",
                "complained",
                name="suppressionreason",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", rapport.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_suppressions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    op.create_index(op.f("ix_suppressions_tenant_id"), "suppressions", ["tenant_id"])
    op.create_index(
        "uq_suppressions_tenant_email_hash",
        "suppressions",
        ["tenant_id", "email_hash"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("suppressions")
