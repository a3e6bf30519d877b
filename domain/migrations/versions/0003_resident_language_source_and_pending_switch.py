"""resident language source and pending switch

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_source", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("language_pending", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("language_pending_count", sa.Integer(), server_default="0", nullable=False)
        )
    # a language residents set before this revision was set with /language: their choice
    op.execute("UPDATE residents SET language_source = 'explicit' WHERE language IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("language_pending_count")
        batch_op.drop_column("language_pending")
        batch_op.drop_column("language_source")
