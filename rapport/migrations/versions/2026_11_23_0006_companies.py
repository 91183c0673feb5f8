"""companies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('companies',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=True),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('industry', sa.String(length=200), nullable=True),
    sa.Column('size', sa.String(length=50), nullable=True),
    sa.Column('plan', sa.String(length=100), nullable=True),
    sa.Column('website', sa.String(length=2048), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('role', sa.Enum('prospect', 'customer', 'vendor', 'both', name='companyrole', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('active', 'inactive', name='companystatus', native_enum=False, length=32), nullable=False),
    sa.Column('owner_user_id', sa.Uuid(), nullable=True),
    sa.Column('properties', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_companies_owner_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_companies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies'))
    )
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.create_index('ix_companies_tenant_created', ['tenant_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_companies_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_companies_tenant_name', ['tenant_id', 'name'], unique=False)
        batch_op.create_index('ix_companies_tenant_owner', ['tenant_id', 'owner_user_id'], unique=False)
        batch_op.create_index('uq_companies_tenant_domain', ['tenant_id', 'domain'], unique=True, sqlite_where=sa.text('domain IS NOT NULL'), postgresql_where=sa.text('domain IS NOT NULL'))
        batch_op.create_index('uq_companies_tenant_external_id', ['tenant_id', 'external_id'], unique=True, sqlite_where=sa.text('external_id IS NOT NULL'), postgresql_where=sa.text('external_id IS NOT NULL'))

    op.create_table('company_memberships',
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_company_memberships_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_company_memberships_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_company_memberships_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_memberships')),
    sa.UniqueConstraint('contact_id', 'company_id', name='uq_company_memberships_pair')
    )
    with op.batch_alter_table('company_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_company_memberships_company', ['company_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_company_memberships_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('uq_company_memberships_primary', ['contact_id'], unique=True, sqlite_where=sa.text('is_primary'), postgresql_where=sa.text('is_primary'))


def downgrade() -> None:
    with op.batch_alter_table('company_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_company_memberships_primary', sqlite_where=sa.text('is_primary'), postgresql_where=sa.text('is_primary'))
        batch_op.drop_index(batch_op.f('ix_company_memberships_tenant_id'))
        batch_op.drop_index('ix_company_memberships_company')

    op.drop_table('company_memberships')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_index('uq_companies_tenant_external_id', sqlite_where=sa.text('external_id IS NOT NULL'), postgresql_where=sa.text('external_id IS NOT NULL'))
        batch_op.drop_index('uq_companies_tenant_domain', sqlite_where=sa.text('domain IS NOT NULL'), postgresql_where=sa.text('domain IS NOT NULL'))
        batch_op.drop_index('ix_companies_tenant_owner')
        batch_op.drop_index('ix_companies_tenant_name')
        batch_op.drop_index(batch_op.f('ix_companies_tenant_id'))
        batch_op.drop_index('ix_companies_tenant_created')

    op.drop_table('companies')
