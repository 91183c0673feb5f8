"""dashboard indexes: the open leads by stage and currency and the leads closed in a period,
read from indexes alone or by range; the stage moves of a period with what they measured; the
activities of one actor in a period

Revision ID: 0023
Revises: 0021
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_leads_status_stage_amounts",
        "leads",
        ["tenant_id", "status", "stage_id", "currency", "value_minor", "probability_pct"],
    )
    op.create_index("ix_leads_closed", "leads", ["tenant_id", "closed_at"])
    op.drop_index("ix_lead_stage_changes_changed", table_name="lead_stage_changes")
    op.create_index(
        "ix_lead_stage_changes_changed",
        "lead_stage_changes",
        ["tenant_id", "changed_at", "from_stage_id", "seconds_in_from_stage"],
    )
    op.create_index(
        "ix_activities_actor",
        "activities",
        ["tenant_id", "actor_type", "actor_id", "occurred_at", "type"],
    )


def downgrade() -> None:
    op.drop_index("ix_activities_actor", table_name="activities")
    op.drop_index("ix_lead_stage_changes_changed", table_name="lead_stage_changes")
    op.create_index(
        "ix_lead_stage_changes_changed", "lead_stage_changes", ["tenant_id", "changed_at"]
    )
    op.drop_index("ix_leads_closed", table_name="leads")
    op.drop_index("ix_leads_status_stage_amounts", table_name="leads")
