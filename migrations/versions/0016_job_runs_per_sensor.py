"""An index on job runs by sensor and end: a sensor's job list reads its newest runs

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 03:00:00
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_job_run_sensor_id_ended_at"), "job_run", ["sensor_id", "ended_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_job_run_sensor_id_ended_at"), table_name="job_run")
