"""What a chosen model needs besides its name: ensemble members and calibrated intervals

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:55:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "model_selection",
        sa.Column(
            "calibration",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="{}",
        ),
    )


def downgrade() -> None:
    op.drop_column("model_selection", "calibration")
