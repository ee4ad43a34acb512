"""Trained models: each sensor's fitted forecaster per horizon, so forecasts only predict

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trained_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Interval(), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("members", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("trained_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trained_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fit_seconds", sa.Double(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sensor.id"],
            name=op.f("fk_trained_model_sensor_id_sensor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trained_model")),
        sa.UniqueConstraint(
            "sensor_id", "horizon", name=op.f("uq_trained_model_sensor_id_horizon")
        ),
    )
    # the state is compressed already: keep it out of line without compressing it again
    op.execute("ALTER TABLE trained_model ALTER COLUMN state SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("trained_model")
