"""Requests: two covering indexes for the panel's aggregates (dashboard, report, queue).

The period index serves a range of days (received_at first); the cluster index serves a
cluster's people and spread. Both hold every column those queries read, so the database
answers from the index without visiting the rows (which carry the message text and media).

Revision 0011, after 0008.
"""

from alembic import op

revision, down_revision = "0011", "0008"

# each index's columns, in index order
INDEXES = {
    "ix_requests_cluster_period": (
        "cluster_id received_at resident_id language channel matched_item_id outcome"
    ),
    "ix_requests_period": (
        "received_at cluster_id matched_item_id outcome answered_at language channel "
        "resident_id helpful"
    ),
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "requests", columns.split())


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, "requests")
