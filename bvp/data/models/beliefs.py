"""Timed beliefs: every stored value is a belief about an event, formed at a time.

Rows are written and read set-based by ``bvp.data.beliefs``; this class exists for
the schema (and migrations), not for per-row ORM use on hot paths.

Referential integrity without per-row foreign-key checks: a foreign key on this table
runs one lookup per inserted row, which measured at two thirds of the time of storing
a sensor-year (bench/README.md). Instead ``save_beliefs`` checks the batch's sensor and
source ids in one query each and takes the same ``FOR KEY SHARE`` row locks a foreign
key would, so a concurrent delete waits; and deleting sensors or data sources deletes
their beliefs through the statement-level triggers below (one set-based delete).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, BigInteger, DateTime, Double, Index, Integer, event, func, text
from sqlalchemy.orm import Mapped, mapped_column

from bvp.data.db import Base

# The writing transaction's id (xid8 as bigint); see pg_current_xact_id().
CURRENT_TXID = text("(pg_current_xact_id()::text::bigint)")


class TimedBelief(Base):
    __tablename__ = "timed_belief"

    # The primary key (sensor_id, event_start, belief_time, ...) serves "latest belief
    # per event in a window for a sensor": a backward scan of it yields each event's
    # newest belief first, without a sort.
    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    belief_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cumulative_probability: Mapped[float] = mapped_column(
        Double, primary_key=True, default=0.5, server_default="0.5"
    )
    event_value: Mapped[float] = mapped_column(Double)
    # When and by which transaction this row was last written: the bulk export pages
    # through beliefs in this order (see bvp/data/belief_export.py).
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    recorded_txid: Mapped[int] = mapped_column(BigInteger, server_default=CURRENT_TXID)

    __table_args__ = (
        Index("ix_timed_belief_recorded_txid", "recorded_txid", postgresql_using="brin"),
        # One partition per month of event_start, made on demand (bvp/data/partitions.py).
        {"postgresql_partition_by": "RANGE (event_start)"},
    )


# (table, column in timed_belief) whose deletion deletes the beliefs that refer to it.
CASCADES = (("sensor", "sensor_id"), ("data_source", "source_id"))


def cascade_trigger_ddl(parent: str, column: str) -> str:
    """The trigger that cascades deletes of ``parent`` (migration 0001 holds its own copy)."""
    function = f"delete_beliefs_of_deleted_{parent}"
    create = f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM timed_belief WHERE {column} IN (SELECT id FROM deleted_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER {function} AFTER DELETE ON {parent}
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""
    return create


for _parent, _column in CASCADES:
    event.listen(TimedBelief.__table__, "after_create", DDL(cascade_trigger_ddl(_parent, _column)))
