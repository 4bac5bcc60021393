"""erasure erases: comments of erased people go, and they leave their groups

Before this revision an erasure kept the person's feedback comments (text and voice)
detached from them, and their memberships open. A comment always names its author when
written, so one without an author belongs to an erased person.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-02 00:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM feedback_comments WHERE participant_id IS NULL")
    op.execute(
        "UPDATE memberships SET left_at = ("
        " SELECT COALESCE(p.erased_at, memberships.joined_at) FROM participants p"
        " WHERE p.id = memberships.participant_id)"
        " WHERE left_at IS NULL AND participant_id IN"
        " (SELECT id FROM participants WHERE status = 'erased')"
    )


def downgrade() -> None:
    """Nothing to restore: what was erased stays erased."""
