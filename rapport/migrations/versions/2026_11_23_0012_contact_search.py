"""contacts: a folded search column, trigram-indexed on PostgreSQL

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize('NFKD', text)
    return ''.join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
    contacts = sa.table(
        'contacts',
        sa.column('id', sa.Uuid()),
        sa.column('name', sa.String()),
        sa.column('given_name', sa.String()),
        sa.column('family_name', sa.String()),
        sa.column('email', sa.String()),
        sa.column('phone', sa.String()),
        sa.column('search_text', sa.Text()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            contacts.c.id,
            contacts.c.name,
            contacts.c.given_name,
            contacts.c.family_name,
            contacts.c.email,
            contacts.c.phone,
        )
    ).all()
    update = (
        sa.update(contacts)
        .where(contacts.c.id == sa.bindparam('record'))
        .values(search_text=sa.bindparam('folded'))
    )
    values = [
        {'record': row[0], 'folded': _folded(' '.join(p for p in row[1:] if p))} for row in rows
    ]
    for offset in range(0, len(values), 5000):
        bind.execute(update, values[offset : offset + 5000])
    if bind.dialect.name == 'postgresql':
        # pg_trgm is a trusted extension: the database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute(
            'CREATE INDEX ix_contacts_search_trgm ON contacts USING gin (search_text gin_trgm_ops)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_contacts_search_trgm')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('search_text')
