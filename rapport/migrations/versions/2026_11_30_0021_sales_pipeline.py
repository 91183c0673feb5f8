"""sales pipeline: pipelines, stages, leads and their stage moves; activities point at leads;
every existing workspace gets the default pipeline

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from rapport.kit.ids import new_id

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As rapport.sales.service.DEFAULT_STAGES: name, kind, default probability, colour.
DEFAULT_STAGES = (
    ("New", "open", 10, "slate"),
    ("Qualified", "open", 20, "blue"),
    ("Proposal", "open", 50, "violet"),
    ("Negotiation", "open", 75, "amber"),
    ("Won", "won", 100, "green"),
    ("Lost", "lost", 0, "red"),
)

tenants = sa.table("tenants", sa.column("id", sa.Uuid()))
pipelines = sa.table(
    "pipelines",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("is_default", sa.Boolean()),
    sa.column("sort_order", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
stages = sa.table(
    "pipeline_stages",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("pipeline_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("sort_order", sa.Integer()),
    sa.column("default_probability_pct", sa.Integer()),
    sa.column("color_key", sa.String()),
    sa.column("system_key", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_pipelines_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
    )
    op.create_index(op.f("ix_pipelines_tenant_id"), "pipelines", ["tenant_id"], unique=False)
    op.create_index(
        "uq_pipelines_tenant_default",
        "pipelines",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_index("uq_pipelines_tenant_name", "pipelines", ["tenant_id", "name"], unique=True)
    op.create_table(
        "pipeline_stages",
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("open", "won", "lost", name="stagekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("default_probability_pct", sa.Integer(), nullable=False),
        sa.Column("color_key", sa.String(length=32), nullable=True),
        sa.Column("system_key", sa.String(length=32), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_pipeline_stages_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_pipeline_stages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_stages")),
    )
    op.create_index(
        "ix_pipeline_stages_order",
        "pipeline_stages",
        ["tenant_id", "pipeline_id", "sort_order"],
        unique=False,
    )
    op.create_index(
        op.f("ix_pipeline_stages_tenant_id"), "pipeline_stages", ["tenant_id"], unique=False
    )
    op.create_index(
        "uq_pipeline_stages_name",
        "pipeline_stages",
        ["tenant_id", "pipeline_id", "name"],
        unique=True,
    )
    op.create_index(
        "uq_pipeline_stages_system_key",
        "pipeline_stages",
        ["tenant_id", "pipeline_id", "system_key"],
        unique=True,
        sqlite_where=sa.text("system_key IS NOT NULL"),
        postgresql_where=sa.text("system_key IS NOT NULL"),
    )
    op.create_table(
        "leads",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("probability_pct", sa.Integer(), nullable=True),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "won", "lost", name="stagekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_leads_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_leads_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_leads_owner_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_leads_pipeline_id_pipelines")
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"], ["pipeline_stages.id"], name=op.f("fk_leads_stage_id_pipeline_stages")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_leads_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index("ix_leads_company", "leads", ["tenant_id", "company_id"], unique=False)
    op.create_index("ix_leads_contact", "leads", ["tenant_id", "contact_id"], unique=False)
    op.create_index("ix_leads_owner", "leads", ["tenant_id", "owner_user_id"], unique=False)
    op.create_index(
        "ix_leads_pipeline_status",
        "leads",
        ["tenant_id", "pipeline_id", "status", "closed_at"],
        unique=False,
    )
    op.create_index(
        "ix_leads_stage", "leads", ["tenant_id", "stage_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_leads_tenant_created", "leads", ["tenant_id", "created_at", "id"], unique=False
    )
    op.create_index(op.f("ix_leads_tenant_id"), "leads", ["tenant_id"], unique=False)
    op.create_table(
        "lead_stage_changes",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage_id", sa.Uuid(), nullable=True),
        sa.Column("to_stage_id", sa.Uuid(), nullable=True),
        sa.Column("from_stage_name", sa.String(length=100), nullable=True),
        sa.Column("to_stage_name", sa.String(length=100), nullable=False),
        sa.Column(
            "to_kind",
            sa.Enum("open", "won", "lost", name="stagekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("seconds_in_from_stage", sa.BigInteger(), nullable=True),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_stage_id"],
            ["pipeline_stages.id"],
            name=op.f("fk_lead_stage_changes_from_stage_id_pipeline_stages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_stage_changes_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_lead_stage_changes_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lead_stage_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_stage_id"],
            ["pipeline_stages.id"],
            name=op.f("fk_lead_stage_changes_to_stage_id_pipeline_stages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_stage_changes")),
    )
    op.create_index(
        "ix_lead_stage_changes_changed",
        "lead_stage_changes",
        ["tenant_id", "changed_at"],
        unique=False,
    )
    op.create_index(
        "ix_lead_stage_changes_lead",
        "lead_stage_changes",
        ["tenant_id", "lead_id", "changed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_lead_stage_changes_tenant_id"), "lead_stage_changes", ["tenant_id"], unique=False
    )
    _default_pipelines()
    _keep_free_lead_references()
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_lead", ["tenant_id", "lead_id", "occurred_at", "id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_activities_lead_id_leads"),
            "leads",
            ["lead_id"],
            ["id"],
            ondelete="SET NULL",
        )


def _default_pipelines() -> None:
    connection = op.get_bind()
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    pipeline_rows, stage_rows = [], []
    for (tenant_id,) in connection.execute(sa.select(tenants.c.id)):
        pipeline_id = new_id()
        pipeline_rows.append(
            {
                "id": pipeline_id,
                "tenant_id": tenant_id,
                "name": "Sales pipeline",
                "is_default": True,
                "sort_order": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        for order, (name, kind, probability, color) in enumerate(DEFAULT_STAGES):
            stage_rows.append(
                {
                    "id": new_id(),
                    "tenant_id": tenant_id,
                    "pipeline_id": pipeline_id,
                    "name": name,
                    "kind": kind,
                    "sort_order": order,
                    "default_probability_pct": probability,
                    "color_key": color,
                    "system_key": name.lower(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if pipeline_rows:
        op.bulk_insert(pipelines, pipeline_rows)
        op.bulk_insert(stages, stage_rows)


def _keep_free_lead_references() -> None:
    """`leadId` was a free reference until leads existed: keep what callers stored in the
    activity's properties (`leadRef`) and clear the column, which now points at leads."""
    if op.get_bind().dialect.name == "postgresql":
        keep = "properties || jsonb_build_object('leadRef', lead_id::text)"
    else:
        keep = "json_set(properties, '$.leadRef', lead_id)"
    op.execute(
        f"UPDATE activities SET properties = {keep}, lead_id = NULL WHERE lead_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_constraint("fk_activities_lead_id_leads", type_="foreignkey")
        batch_op.drop_index("ix_activities_lead")
    for table in ("lead_stage_changes", "leads", "pipeline_stages", "pipelines"):
        op.drop_table(table)
