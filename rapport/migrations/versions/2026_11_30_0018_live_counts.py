"""live counts: the number of live contacts of each workspace, kept by triggers

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status NOT IN ('DELETED', 'MERGED')"
SLOTS = 16

# PostgreSQL: statement-level triggers, so that a bulk statement adds its count once.
POSTGRES = [
    f"""
    CREATE FUNCTION live_contacts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO live_counts (tenant_id, entity, slot, live)
      SELECT tenant_id, 'contact', floor(random() * {SLOTS})::smallint, count(*)
      FROM inserted WHERE {LIVE} GROUP BY tenant_id
      ON CONFLICT (tenant_id, entity, slot) DO UPDATE SET live = live_counts.live + EXCLUDED.live;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION live_contacts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO live_counts (tenant_id, entity, slot, live)
      SELECT new_row.tenant_id, 'contact', floor(random() * {SLOTS})::smallint,
             sum((new_row.{LIVE})::int - (old_row.{LIVE})::int)
      FROM changed_to AS new_row JOIN changed_from AS old_row ON old_row.id = new_row.id
      WHERE (new_row.{LIVE}) <> (old_row.{LIVE})
      GROUP BY new_row.tenant_id
      ON CONFLICT (tenant_id, entity, slot) DO UPDATE SET live = live_counts.live + EXCLUDED.live;
      RETURN NULL;
    END $$
    """,
    # Decrements update a slot that exists, never insert one: rows deleted with their
    # workspace must not write counts of a workspace that is going away.
    f"""
    CREATE FUNCTION live_contacts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE live_counts SET live = live_counts.live - gone.n
      FROM (SELECT tenant_id, count(*) AS n FROM removed WHERE {LIVE} GROUP BY tenant_id) AS gone
      WHERE live_counts.tenant_id = gone.tenant_id AND live_counts.entity = 'contact'
        AND live_counts.slot = (SELECT min(slot) FROM live_counts AS c
                                WHERE c.tenant_id = gone.tenant_id AND c.entity = 'contact');
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER live_contacts_inserted AFTER INSERT ON contacts"
    " REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT"
    " EXECUTE FUNCTION live_contacts_inserted()",
    "CREATE TRIGGER live_contacts_updated AFTER UPDATE ON contacts"
    " REFERENCING OLD TABLE AS changed_from NEW TABLE AS changed_to FOR EACH STATEMENT"
    " EXECUTE FUNCTION live_contacts_updated()",
    "CREATE TRIGGER live_contacts_deleted AFTER DELETE ON contacts"
    " REFERENCING OLD TABLE AS removed FOR EACH STATEMENT"
    " EXECUTE FUNCTION live_contacts_deleted()",
]

_SQLITE_UPSERT = (
    "INSERT INTO live_counts (tenant_id, entity, slot, live)"
    f" VALUES (NEW.tenant_id, 'contact', abs(random()) % {SLOTS}, {{delta}})"
    " ON CONFLICT (tenant_id, entity, slot) DO UPDATE SET live = live + excluded.live;"
)
SQLITE = [
    f"CREATE TRIGGER live_contacts_inserted AFTER INSERT ON contacts WHEN NEW.{LIVE}"
    f" BEGIN {_SQLITE_UPSERT.format(delta=1)} END",
    "CREATE TRIGGER live_contacts_updated AFTER UPDATE OF status ON contacts"
    f" WHEN (OLD.{LIVE}) <> (NEW.{LIVE})"
    f" BEGIN {_SQLITE_UPSERT.format(delta=f'CASE WHEN NEW.{LIVE} THEN 1 ELSE -1 END')} END",
    f"CREATE TRIGGER live_contacts_deleted AFTER DELETE ON contacts WHEN OLD.{LIVE} BEGIN"
    " UPDATE live_counts SET live = live - 1 WHERE tenant_id = OLD.tenant_id"
    " AND entity = 'contact' AND slot = (SELECT min(slot) FROM live_counts"
    " WHERE tenant_id = OLD.tenant_id AND entity = 'contact'); END",
]


def upgrade() -> None:
    op.create_table(
        "live_counts",
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_live_counts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "entity", "slot", name=op.f("pk_live_counts")),
    )
    op.create_index(op.f("ix_live_counts_tenant_id"), "live_counts", ["tenant_id"], unique=False)
    op.execute(
        "INSERT INTO live_counts (tenant_id, entity, slot, live)"
        f" SELECT tenant_id, 'contact', 0, count(*) FROM contacts WHERE {LIVE} GROUP BY tenant_id"
    )
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for kind in ("inserted", "updated", "deleted"):
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS live_contacts_{kind} ON contacts")
            op.execute(f"DROP FUNCTION IF EXISTS live_contacts_{kind}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS live_contacts_{kind}")
    op.drop_index(op.f("ix_live_counts_tenant_id"), table_name="live_counts")
    op.drop_table("live_counts")
