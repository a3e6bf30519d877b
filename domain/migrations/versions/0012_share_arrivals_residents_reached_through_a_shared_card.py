"""Share arrivals: new residents who reached the bot through a published answer's shared card.

One row per resident and answer (the card's link carries the answer's share code, never the
sharer); deleted with the resident (/forget) or the answer.

Revision 0012, after 0011.
"""

import sqlalchemy as sa
from alembic import op

import domain.models.base

revision, down_revision = "0012", "0011"


def _reference(column: str, table: str) -> sa.Column[int]:
    """A required column pointing at `table`.id; the row goes when the row it points at goes."""
    name = op.f(f"fk_share_arrivals_{column}_{table}")
    target = sa.ForeignKey(f"{table}.id", name=name, ondelete="CASCADE")
    return sa.Column(column, sa.Integer(), target, nullable=False)


def upgrade() -> None:
    op.create_table(
        "share_arrivals",
        sa.Column("id", sa.Integer(), nullable=False),
        _reference("answer_id", "answers"),
        _reference("resident_id", "residents"),
        sa.Column("arrived_at", domain.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_arrivals")),
        sa.UniqueConstraint("answer_id", "resident_id", name=op.f("uq_share_arrivals_answer_id")),
    )
    op.create_index(op.f("ix_share_arrivals_arrived_at"), "share_arrivals", ["arrived_at"])
    op.create_index(op.f("ix_share_arrivals_resident_id"), "share_arrivals", ["resident_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_arrivals_resident_id"), "share_arrivals")
    op.drop_index(op.f("ix_share_arrivals_arrived_at"), "share_arrivals")
    op.drop_table("share_arrivals")
