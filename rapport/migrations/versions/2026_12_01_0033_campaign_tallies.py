"""campaign tallies: each campaign's running counts (messages by status, bounces, first opens
and clicks, opens and clicks, per hour, per link), counted once here from the rows of the
campaigns that exist

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rapport.campaigns import tallies

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_messages = sa.table(
    "campaign_messages",
    sa.column("tenant_id", sa.Uuid()),
    sa.column("campaign_id", sa.Uuid()),
    sa.column("status", sa.String()),
    sa.column("bounce_type", sa.String()),
    sa.column("sent_at", sa.DateTime(timezone=True)),
    sa.column("opened_at", sa.DateTime(timezone=True)),
    sa.column("clicked_at", sa.DateTime(timezone=True)),
    sa.column("complained_at", sa.DateTime(timezone=True)),
    sa.column("unsubscribed_at", sa.DateTime(timezone=True)),
)
_interactions = sa.table(
    "campaign_interactions",
    sa.column("tenant_id", sa.Uuid()),
    sa.column("campaign_id", sa.Uuid()),
    sa.column("message_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("url", sa.Text()),
    sa.column("at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "campaign_tallies",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_tallies_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_campaign_tallies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_tallies")),
    )
    op.create_index(op.f("ix_campaign_tallies_tenant_id"), "campaign_tallies", ["tenant_id"])
    op.create_index(
        "uq_campaign_tallies_tenant_campaign_key_shard",
        "campaign_tallies",
        ["tenant_id", "campaign_id", "key", "shard"],
        unique=True,
    )
    _count_existing()


def _count_existing() -> None:
    """The counts of the campaigns sent so far, from their messages and interactions."""
    bind = op.get_bind()
    recount = tallies.Recount()
    m = _messages.c
    for row in bind.execute(
        sa.select(m.tenant_id, m.campaign_id, m.status, m.bounce_type, m.sent_at).add_columns(
            m.opened_at, m.clicked_at, m.complained_at, m.unsubscribed_at
        )
    ):
        recount.message(
            row.tenant_id,
            row.campaign_id,
            row.status,
            row.bounce_type,
            row.sent_at,
            opened_at=row.opened_at,
            clicked_at=row.clicked_at,
            complained_at=row.complained_at,
            unsubscribed_at=row.unsubscribed_at,
        )
    i = _interactions.c
    for row in bind.execute(
        sa.select(i.tenant_id, i.campaign_id, i.message_id, i.kind, i.url, i.at)
    ):
        recount.interaction(*row)
    rows = recount.rows()
    table = sa.table(
        "campaign_tallies",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("campaign_id", sa.Uuid()),
        sa.column("key", sa.String()),
        sa.column("shard", sa.SmallInteger()),
        sa.column("value", sa.BigInteger()),
        sa.column("label", sa.Text()),
    )
    for start in range(0, len(rows), 1000):
        bind.execute(table.insert(), rows[start : start + 1000])


def downgrade() -> None:
    op.drop_table("campaign_tallies")
