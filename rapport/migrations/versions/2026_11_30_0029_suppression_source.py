"""suppressions: where an entry came from (`source`), and the list's index in its default
order (newest first)

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=200), nullable=True))
    op.create_index(
        "ix_suppressions_tenant_created", "suppressions", ["tenant_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_suppressions_tenant_created", table_name="suppressions")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_column("source")
