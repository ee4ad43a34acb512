"""forecast outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:11:58.769662
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_outbox",
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sensor_id", "origin", name=op.f("pk_forecast_outbox")),
    )


def downgrade() -> None:
    op.drop_table("forecast_outbox")
