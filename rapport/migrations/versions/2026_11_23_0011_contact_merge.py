"""contacts: merged into another contact; email and externalId unique among live contacts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status NOT IN ('DELETED', 'MERGED')"
NOT_DELETED = "status <> 'DELETED'"


def _unique_indexes(predicate: str) -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('uq_contacts_tenant_email')
        batch_op.drop_index('uq_contacts_tenant_external_id')
        for name, column in (
            ('uq_contacts_tenant_email', 'email'),
            ('uq_contacts_tenant_external_id', 'external_id'),
        ):
            batch_op.create_index(
                name,
                ['tenant_id', column],
                unique=True,
                sqlite_where=sa.text(predicate),
                postgresql_where=sa.text(predicate),
            )


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_contacts_merged_into_id_contacts'), 'contacts', ['merged_into_id'], ['id'], ondelete='SET NULL')
    _unique_indexes(LIVE)


def downgrade() -> None:
    _unique_indexes(NOT_DELETED)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contacts_merged_into_id_contacts'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
