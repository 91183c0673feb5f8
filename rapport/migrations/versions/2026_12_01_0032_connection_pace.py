"""outbound email connections: a limit of campaign messages per second, and how far ahead
its sending slots are taken

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_email_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_messages_per_second", sa.Float(precision=53), nullable=True))
        batch_op.add_column(sa.Column("paced_until", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_email_connections", schema=None) as batch_op:
        batch_op.drop_column("paced_until")
        batch_op.drop_column("max_messages_per_second")
