"""handled updates: a webhook re-delivery is acknowledged, not handled twice

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("handled_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_handled_updates")),
    )
    with op.batch_alter_table("handled_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handled_updates_handled_at"), ["handled_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("handled_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handled_updates_handled_at"))
    op.drop_table("handled_updates")
