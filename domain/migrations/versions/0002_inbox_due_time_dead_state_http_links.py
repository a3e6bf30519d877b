"""inbox attempts, due time and dead state; only http(s) source links

Revision ID: 0002
Revises: 0001

The inbox gets `next_attempt_at` (recovery goes by due time, so a message that keeps failing
waits behind fresh ones), `dead_at` (given up after too many attempts; staff see it on the
Delivery page) and `last_error`. Existing rows are due at once. Source links that are not
http(s) (for example `javascript:`), stored before links were checked, are removed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_HTTP = (
    "source_url IS NOT NULL AND lower(trim(source_url)) NOT LIKE 'http://%' "
    "AND lower(trim(source_url)) NOT LIKE 'https://%'"
)


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_attempt_at", domain.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("dead_at", domain.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
    op.execute("UPDATE inbox SET next_attempt_at = received_at")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.alter_column(
            "next_attempt_at",
            existing_type=domain.models.base.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.create_index(
            "ix_inbox_due", ["processed_at", "dead_at", "next_attempt_at"], unique=False
        )
    for table in ("knowledge_items", "answers"):
        op.execute(f"UPDATE {table} SET source_url = NULL WHERE {_NOT_HTTP}")  # noqa: S608


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_due")
        batch_op.drop_column("last_error")
        batch_op.drop_column("dead_at")
        batch_op.drop_column("next_attempt_at")
