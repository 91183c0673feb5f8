"""query indexes: the carriers of a tag led by the workspace, and the live contacts of a
lifecycle stage as one range (what the query language's common conditions read)

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "status NOT IN ('DELETED', 'MERGED')"


def upgrade() -> None:
    for table, record in (("contact_tags", "contact_id"), ("company_tags", "company_id")):
        op.drop_index(f"ix_{table}_tag", table_name=table)
        op.create_index(f"ix_{table}_tag", table, ["tenant_id", "tag_id", record])
    op.create_index(
        "ix_contacts_live_stage",
        "contacts",
        ["tenant_id", "lifecycle_stage", "id"],
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_live_stage", table_name="contacts")
    for table, record in (("contact_tags", "contact_id"), ("company_tags", "company_id")):
        op.drop_index(f"ix_{table}_tag", table_name=table)
        op.create_index(f"ix_{table}_tag", table, ["tag_id", record])
