"""imports: CSV files of contacts read by a job in chunks, and their error reports

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("encoding", sa.String(length=40), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("dedup", _choice("dedupmode", "skip", "update", "create_new"), nullable=False),
        sa.Column("tag_ids", sa.JSON(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            _choice("importstatus", "queued", "running", "completed", "failed"),
            nullable=False,
        ),
        sa.Column("rows_total", sa.BigInteger(), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("created_count", sa.BigInteger(), nullable=False),
        sa.Column("updated_count", sa.BigInteger(), nullable=False),
        sa.Column("skipped_count", sa.BigInteger(), nullable=False),
        sa.Column("failed_count", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by_type", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_imports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_index("ix_imports_tenant_created", "imports", ["tenant_id", "created_at", "id"])
    op.create_index(op.f("ix_imports_tenant_id"), "imports", ["tenant_id"])
    op.create_table(
        "import_row_errors",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
            name=op.f("fk_import_row_errors_import_id_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_import_row_errors_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "row", "ordinal", name=op.f("pk_import_row_errors")),
    )
    op.create_index(op.f("ix_import_row_errors_tenant_id"), "import_row_errors", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_import_row_errors_tenant_id"), table_name="import_row_errors")
    op.drop_table("import_row_errors")
    op.drop_index(op.f("ix_imports_tenant_id"), table_name="imports")
    op.drop_index("ix_imports_tenant_created", table_name="imports")
    op.drop_table("imports")
