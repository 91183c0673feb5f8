"""company memberships: CONTACT_COMPANY properties

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('company_memberships', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'properties',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=False,
                server_default='{}',
            )
        )
    with op.batch_alter_table('company_memberships', schema=None) as batch_op:
        batch_op.alter_column('properties', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('company_memberships', schema=None) as batch_op:
        batch_op.drop_column('properties')
