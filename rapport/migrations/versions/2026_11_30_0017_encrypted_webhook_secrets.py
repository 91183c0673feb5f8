"""encrypted webhook secrets: signing secrets are stored encrypted with a key derived from the
app's secret key, each bound to its webhook

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rapport.kit.crypto import SecretBox

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As rapport.webhooks.signing.secret_box encrypts them.
PURPOSE = "webhook signing secrets"

webhooks = sa.table(
    "webhooks",
    sa.column("id", sa.Uuid()),
    sa.column("secret", sa.String()),
    sa.column("encrypted_secret", sa.String()),
)


def _box() -> SecretBox:
    config = op.get_context().config
    secret_key = config.attributes.get("secret_key") if config is not None else None
    if not secret_key:
        raise RuntimeError(
            "Migration 0017 encrypts the webhook secrets with the app's secret key; run it with "
            "`rapport migrate`, with RAPPORT_SECRET_KEY (or the data directory's secret.key) "
            "as the servers use it"
        )
    return SecretBox(secret_key, PURPOSE)


def upgrade() -> None:
    # Encrypted before any change, so a missing key leaves the database as it was.
    connection = op.get_bind()
    rows = connection.execute(sa.select(webhooks.c.id, webhooks.c.secret)).all()
    encrypted = {}
    if rows:
        box = _box()
        encrypted = {id_: box.seal(secret, bound_to=str(id_)) for id_, secret in rows}
    op.add_column("webhooks", sa.Column("encrypted_secret", sa.String(length=255), nullable=True))
    for webhook_id, value in encrypted.items():
        connection.execute(
            webhooks.update().where(webhooks.c.id == webhook_id).values(encrypted_secret=value)
        )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column(
            "encrypted_secret", existing_type=sa.String(length=255), nullable=False
        )
        batch_op.drop_column("secret")


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(webhooks.c.id, webhooks.c.encrypted_secret)).all()
    plain = {}
    if rows:
        box = _box()
        plain = {id_: box.open(sealed, bound_to=str(id_)) for id_, sealed in rows}
    op.add_column("webhooks", sa.Column("secret", sa.String(length=100), nullable=True))
    for webhook_id, value in plain.items():
        connection.execute(
            webhooks.update().where(webhooks.c.id == webhook_id).values(secret=value)
        )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_column("encrypted_secret")
