"""properties: definitions, and the value index filled from the stored properties

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('property_definitions',
    sa.Column('entity', sa.Enum('CONTACT', 'COMPANY', 'CONTACT_COMPANY', name='propertyentity', native_enum=False, length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Enum('TEXT', 'NUMBER', 'BOOLEAN', 'DATE', 'DATETIME', 'EMAIL', 'PHONE', 'URL', 'SELECT', 'MULTI_SELECT', 'CURRENCY', 'TEXTAREA', name='propertytype', native_enum=False, length=32), nullable=False),
    sa.Column('group', sa.Enum('BASIC', 'CONTACT_INFO', 'SOCIAL', 'COMPANY_INFO', 'CUSTOM', name='propertygroup', native_enum=False, length=32), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('is_required', sa.Boolean(), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_property_definitions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_definitions'))
    )
    with op.batch_alter_table('property_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_property_definitions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('uq_property_definitions_key', ['tenant_id', 'entity', 'key'], unique=True)

    op.create_table('property_values',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('entity', sa.Enum('CONTACT', 'COMPANY', 'CONTACT_COMPANY', name='propertyentity', native_enum=False, length=32), nullable=False),
    sa.Column('text_value', sa.String(length=500), nullable=True),
    sa.Column('number_value', sa.Float(precision=53), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_property_values_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', 'key', 'ordinal', name=op.f('pk_property_values'))
    )
    with op.batch_alter_table('property_values', schema=None) as batch_op:
        batch_op.create_index('ix_property_values_number', ['tenant_id', 'entity', 'key', 'number_value', 'record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_property_values_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_property_values_text', ['tenant_id', 'entity', 'key', 'text_value', 'record_id'], unique=False)

    _index_stored_properties()


def _index_stored_properties() -> None:
    """One row per value (per list item) of every contact and company property there is."""
    bind = op.get_bind()
    values = sa.table(
        'property_values',
        sa.column('tenant_id', sa.Uuid()),
        sa.column('record_id', sa.Uuid()),
        sa.column('key', sa.String()),
        sa.column('ordinal', sa.Integer()),
        sa.column('entity', sa.String()),
        sa.column('text_value', sa.String()),
        sa.column('number_value', sa.Float()),
    )
    for name, entity in (('contacts', 'CONTACT'), ('companies', 'COMPANY')):
        source = sa.table(
            name,
            sa.column('id', sa.Uuid()),
            sa.column('tenant_id', sa.Uuid()),
            sa.column('properties', sa.JSON()),
        )
        rows = []
        query = sa.select(source.c.id, source.c.tenant_id, source.c.properties)
        for record_id, tenant_id, properties in bind.execute(query).all():
            for key, value in (properties or {}).items():
                if len(key) > 64:
                    continue
                for ordinal, item in enumerate(value if isinstance(value, list) else [value]):
                    number = float(item) if isinstance(item, int | float) else None
                    text = item[:500] if isinstance(item, str) else None
                    if number is None and text is None:
                        continue
                    rows.append(
                        {
                            'tenant_id': tenant_id,
                            'record_id': record_id,
                            'key': key,
                            'ordinal': ordinal,
                            'entity': entity,
                            'text_value': text,
                            'number_value': number,
                        }
                    )
            if len(rows) >= 5000:
                bind.execute(sa.insert(values), rows)
                rows = []
        if rows:
            bind.execute(sa.insert(values), rows)


def downgrade() -> None:
    with op.batch_alter_table('property_values', schema=None) as batch_op:
        batch_op.drop_index('ix_property_values_text')
        batch_op.drop_index(batch_op.f('ix_property_values_tenant_id'))
        batch_op.drop_index('ix_property_values_number')

    op.drop_table('property_values')
    with op.batch_alter_table('property_definitions', schema=None) as batch_op:
        batch_op.drop_index('uq_property_definitions_key')
        batch_op.drop_index(batch_op.f('ix_property_definitions_tenant_id'))

    op.drop_table('property_definitions')
