"""Partition timed_belief by month of event_start

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 20:10:00

``timed_belief`` becomes a table partitioned by range of ``event_start``; monthly
partitions are made when the first belief of a month arrives (bvp/data/partitions.py).

Beliefs already stored are not copied: the old table is renamed and attached, as it
is, as one partition covering everything before the first month after its newest event
(``timed_belief_before_y2026m12``, say). Attaching scans it once to check the bound;
no row is rewritten, so the upgrade takes seconds, not hours, on a large table. An
empty old table is simply replaced. Downgrading copies every belief back into a plain
table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CURRENT_TXID = "(pg_current_xact_id()::text::bigint)"
KEY = "sensor_id, event_start, belief_time, source_id, cumulative_probability"


def _create_beliefs_table(partitioned: bool) -> None:
    partitioning = " PARTITION BY RANGE (event_start)" if partitioned else ""
    op.execute(
        f"""
        CREATE TABLE timed_belief (
            sensor_id integer NOT NULL,
            event_start timestamptz NOT NULL,
            belief_time timestamptz NOT NULL,
            source_id integer NOT NULL,
            cumulative_probability double precision NOT NULL DEFAULT 0.5,
            event_value double precision NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            recorded_txid bigint NOT NULL DEFAULT {CURRENT_TXID},
            CONSTRAINT pk_timed_belief PRIMARY KEY ({KEY})
        ){partitioning}
        """
    )
    op.execute(
        "CREATE INDEX ix_timed_belief_recorded_txid ON timed_belief USING brin (recorded_txid)"
    )


def upgrade() -> None:
    connection = op.get_bind()
    newest = connection.execute(sa.text("SELECT max(event_start) FROM timed_belief")).scalar()
    if newest is None:
        op.execute("DROP TABLE timed_belief")
        _create_beliefs_table(partitioned=True)
        return
    upper = connection.execute(
        sa.text(
            "SELECT date_trunc('month', CAST(:newest AS timestamptz) AT TIME ZONE 'UTC')"
            " AT TIME ZONE 'UTC' + interval '1 month'"
        ),
        {"newest": newest},
    ).scalar()
    name = f"timed_belief_before_y{upper:%Y}m{upper:%m}"
    op.execute(f"ALTER TABLE timed_belief RENAME TO {name}")
    op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT pk_timed_belief TO {name}_pkey")
    op.execute(f"ALTER INDEX ix_timed_belief_recorded_txid RENAME TO {name}_recorded_txid_idx")
    _create_beliefs_table(partitioned=True)
    connection.execute(
        sa.text(
            f"ALTER TABLE timed_belief ATTACH PARTITION {name} "
            "FOR VALUES FROM (MINVALUE) TO (CAST(:upper AS timestamptz))"
        ),
        {"upper": upper},
    )


def downgrade() -> None:
    op.execute("ALTER TABLE timed_belief RENAME TO timed_belief_partitioned")
    op.execute("ALTER TABLE timed_belief_partitioned RENAME CONSTRAINT pk_timed_belief TO pk_old")
    op.execute("ALTER INDEX ix_timed_belief_recorded_txid RENAME TO ix_old_recorded_txid")
    _create_beliefs_table(partitioned=False)
    op.execute("INSERT INTO timed_belief SELECT * FROM timed_belief_partitioned")
    op.execute("DROP TABLE timed_belief_partitioned")  # and with it every partition
