"""exports: the files of contacts, companies or leads a query matches, written by a job

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("entity", _choice("exportentity", "contact", "company", "lead"), nullable=False),
        sa.Column("format", _choice("exportformat", "csv", "jsonl"), nullable=False),
        sa.Column("query_where", sa.Text(), nullable=True),
        sa.Column("query_filter", sa.JSON(), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            _choice("exportstatus", "queued", "running", "completed", "failed", "expired"),
            nullable=False,
        ),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("bytes_written", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by_type", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_exports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index(op.f("ix_exports_tenant_id"), "exports", ["tenant_id"])
    op.create_index("ix_exports_tenant_created", "exports", ["tenant_id", "created_at", "id"])
    op.create_index("ix_exports_status_expires", "exports", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_exports_status_expires", table_name="exports")
    op.drop_index("ix_exports_tenant_created", table_name="exports")
    op.drop_index(op.f("ix_exports_tenant_id"), table_name="exports")
    op.drop_table("exports")
