"""Monthly metrics and job runs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 14:48:55.373840
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
    )
    op.create_index("ix_job_run_queue_ended_at", "job_run", ["queue", "ended_at"], unique=False)
    op.create_table(
        "metrics_forecast_accuracy",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("horizon_seconds", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("forecasts", sa.Integer(), nullable=False),
        sa.Column("mae", sa.Double(), nullable=True),
        sa.Column("mase", sa.Double(), nullable=True),
        sa.Column("bias", sa.Double(), nullable=True),
        sa.Column("pinball", sa.Double(), nullable=True),
        sa.Column("coverage", sa.Double(), nullable=True),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "month",
            "sensor_id",
            "model",
            "horizon_seconds",
            name=op.f("pk_metrics_forecast_accuracy"),
        ),
    )
    op.create_index(
        op.f("ix_metrics_forecast_accuracy_account_id"),
        "metrics_forecast_accuracy",
        ["account_id"],
        unique=False,
    )
    op.create_table(
        "metrics_queue_stats",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("wait_p50_seconds", sa.Double(), nullable=True),
        sa.Column("wait_p95_seconds", sa.Double(), nullable=True),
        sa.Column("run_p50_seconds", sa.Double(), nullable=True),
        sa.Column("run_p95_seconds", sa.Double(), nullable=True),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("month", "queue", name=op.f("pk_metrics_queue_stats")),
    )
    op.create_table(
        "metrics_sensor_quality",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("completeness", sa.Double(), nullable=False),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.Column("longest_gap_seconds", sa.Double(), nullable=False),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.Column("late_p50_seconds", sa.Double(), nullable=True),
        sa.Column("late_p95_seconds", sa.Double(), nullable=True),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("month", "sensor_id", name=op.f("pk_metrics_sensor_quality")),
    )
    op.create_index(
        op.f("ix_metrics_sensor_quality_account_id"),
        "metrics_sensor_quality",
        ["account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_metrics_sensor_quality_account_id"), table_name="metrics_sensor_quality")
    op.drop_table("metrics_sensor_quality")
    op.drop_table("metrics_queue_stats")
    op.drop_index(
        op.f("ix_metrics_forecast_accuracy_account_id"), table_name="metrics_forecast_accuracy"
    )
    op.drop_table("metrics_forecast_accuracy")
    op.drop_index("ix_job_run_queue_ended_at", table_name="job_run")
    op.drop_table("job_run")
