"""Requests: two covering indexes for the panel's aggregates (dashboard, report, queue).

The period index serves a range of days (received_at first); the cluster index serves a
cluster's people and spread. Both hold every column those queries read, so the database
answers from the index without visiting the rows (which carry the message text and media).

Revision ID: 0011
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_requests_cluster_period",
            [
                "cluster_id",
                "received_at",
                "resident_id",
                "language",
                "channel",
                "matched_item_id",
                "outcome",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_requests_period",
            [
                "received_at",
                "cluster_id",
                "matched_item_id",
                "outcome",
                "answered_at",
                "language",
                "channel",
                "resident_id",
                "helpful",
            ],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_period")
        batch_op.drop_index("ix_requests_cluster_period")
