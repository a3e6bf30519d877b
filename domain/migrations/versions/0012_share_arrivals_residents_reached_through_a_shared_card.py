"""Share arrivals: new residents who reached the bot through a published answer's shared card.

One row per resident and answer (the card's link carries the answer's share code, never the
sharer); deleted with the resident (/forget) or the answer.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_arrivals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("arrived_at", domain.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answers.id"],
            name=op.f("fk_share_arrivals_answer_id_answers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_share_arrivals_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_arrivals")),
        sa.UniqueConstraint("answer_id", "resident_id", name=op.f("uq_share_arrivals_answer_id")),
    )
    with op.batch_alter_table("share_arrivals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_arrivals_arrived_at"), ["arrived_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_share_arrivals_resident_id"), ["resident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("share_arrivals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_arrivals_resident_id"))
        batch_op.drop_index(batch_op.f("ix_share_arrivals_arrived_at"))

    op.drop_table("share_arrivals")
