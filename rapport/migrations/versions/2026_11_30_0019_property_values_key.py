"""property values: the primary key led by the workspace

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _primary_key(columns: list[str]) -> None:
    with op.batch_alter_table("property_values", schema=None) as batch_op:
        batch_op.drop_constraint("pk_property_values", type_="primary")
        batch_op.create_primary_key("pk_property_values", columns)


def upgrade() -> None:
    _primary_key(["tenant_id", "record_id", "key", "ordinal"])


def downgrade() -> None:
    _primary_key(["record_id", "key", "ordinal"])
