"""model selection

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 13:22:17.014462
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_selection",
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("mase", sa.Double(), nullable=True),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("selected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", name=op.f("pk_model_selection")),
    )


def downgrade() -> None:
    op.drop_table("model_selection")
