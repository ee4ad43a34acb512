"""belief recording order for the bulk export

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:42:23.870135
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CURRENT_TXID = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    # Constant defaults first: adding them rewrites no existing row (a volatile default
    # would rewrite the whole table). Existing beliefs count as recorded by transaction
    # 0, at migration time: the export hands them out first.
    op.add_column(
        "timed_belief",
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column(
        "timed_belief",
        sa.Column("recorded_txid", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.alter_column("timed_belief", "recorded_txid", server_default=sa.text(CURRENT_TXID))
    op.create_index(
        "ix_timed_belief_recorded_txid",
        "timed_belief",
        ["recorded_txid"],
        unique=False,
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index("ix_timed_belief_recorded_txid", table_name="timed_belief")
    op.drop_column("timed_belief", "recorded_txid")
    op.drop_column("timed_belief", "recorded_at")
