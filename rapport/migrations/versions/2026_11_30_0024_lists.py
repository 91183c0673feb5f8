"""lists: named sets of contacts or companies, static or dynamic (a stored query whose
matches are kept in list_members)

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.kit.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lists',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('entity_type', sa.Enum('CONTACT', 'COMPANY', name='listentity', native_enum=False, length=32), nullable=False),
    sa.Column('is_dynamic', sa.Boolean(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=True),
    sa.Column('relative_to_now', sa.Boolean(), nullable=False),
    sa.Column('member_count', sa.BigInteger(), nullable=False),
    sa.Column('evaluated_at', rapport.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', rapport.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rapport.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_lists_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists'))
    )
    op.create_index('ix_lists_tenant_dynamic', 'lists', ['tenant_id', 'is_dynamic', 'entity_type'], unique=False)
    op.create_index(op.f('ix_lists_tenant_id'), 'lists', ['tenant_id'], unique=False)
    op.create_index('uq_lists_tenant_name', 'lists', ['tenant_id', 'entity_type', 'name'], unique=True)
    op.create_table('list_members',
    sa.Column('list_id', sa.Uuid(), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('added_at', rapport.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_members_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_list_members_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'list_id', 'record_id', name=op.f('pk_list_members'))
    )
    op.create_index('ix_list_members_added', 'list_members', ['tenant_id', 'list_id', 'added_at', 'record_id'], unique=False)
    op.create_index('ix_list_members_record', 'list_members', ['tenant_id', 'record_id'], unique=False)
    op.create_index(op.f('ix_list_members_tenant_id'), 'list_members', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_table("list_members")
    op.drop_table("lists")
