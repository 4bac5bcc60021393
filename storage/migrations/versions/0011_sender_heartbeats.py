"""sender heartbeats: processes share Telegram's overall limit

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sender_heartbeats",
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_sender_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("sender_heartbeats")
