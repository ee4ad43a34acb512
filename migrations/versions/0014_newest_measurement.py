"""Newest measurement per sensor: where its next forecasts start, kept by every write

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Written out here so this revision never changes (bvp/data/models/beliefs.py keeps the
# models' copy).
NEWEST_OF = """
SELECT tb.event_start FROM timed_belief tb JOIN data_source ds ON ds.id = tb.source_id
WHERE tb.sensor_id = {sensor} AND ds.type <> 'forecaster'
ORDER BY tb.event_start DESC LIMIT 1
"""
REFRESH = f"""
CREATE FUNCTION refresh_newest_measurement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM newest_measurement
    WHERE sensor_id IN (SELECT DISTINCT sensor_id FROM deleted_beliefs);
    INSERT INTO newest_measurement (sensor_id, event_start)
    SELECT s.id, newest.event_start
    FROM sensor s
    CROSS JOIN LATERAL ({NEWEST_OF.format(sensor="s.id")}) newest
    WHERE s.id IN (SELECT DISTINCT sensor_id FROM deleted_beliefs)
    ORDER BY s.id;
    RETURN NULL;
END $$;
CREATE TRIGGER refresh_newest_measurement AFTER DELETE ON timed_belief
    REFERENCING OLD TABLE AS deleted_beliefs
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_newest_measurement();
"""


def upgrade() -> None:
    op.create_table(
        "newest_measurement",
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("event_start", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sensor.id"],
            name=op.f("fk_newest_measurement_sensor_id_sensor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sensor_id", name=op.f("pk_newest_measurement")),
    )
    op.execute(
        "INSERT INTO newest_measurement (sensor_id, event_start) "
        f"SELECT s.id, newest.event_start FROM sensor s "
        f"CROSS JOIN LATERAL ({NEWEST_OF.format(sensor='s.id')}) newest"
    )
    op.execute(REFRESH)


def downgrade() -> None:
    op.execute("DROP TRIGGER refresh_newest_measurement ON timed_belief")
    op.execute("DROP FUNCTION refresh_newest_measurement()")
    op.drop_table("newest_measurement")
