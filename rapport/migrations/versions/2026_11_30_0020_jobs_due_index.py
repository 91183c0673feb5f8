"""jobs: a partial index of queued jobs in claim order

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["queue", sa.column("priority").desc(), "run_at", "id"],
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["state", "queue", "priority", "run_at"])
