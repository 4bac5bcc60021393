"""shared phone: several participants on one Telegram account

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 12:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_participants_telegram_user_id", type_="unique")
        batch_op.create_index(
            batch_op.f("ix_participants_telegram_user_id"), ["telegram_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_telegram_user_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_participants_telegram_user_id"), ["telegram_user_id"]
        )
