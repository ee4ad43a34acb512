"""GIN indexes on the sensors' regressor lists: which sensors use a sensor as a regressor
is asked on every POST of its data

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:25:00
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KINDS = ("regressors", "future_regressors")


def upgrade() -> None:
    for kind in KINDS:
        op.execute(f"CREATE INDEX ix_sensor_{kind} ON sensor USING gin ((attributes -> '{kind}'))")


def downgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP INDEX ix_sensor_{kind}")
