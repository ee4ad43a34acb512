"""Timed beliefs: every stored value is a belief about an event, formed at a time.

Rows are written and read set-based by ``bvp.data.beliefs``; this class exists for
the schema (and migrations), not for per-row ORM use on hot paths. The other questions
rooms ask of stored beliefs (a sensor's newest measured event, the quantiles or the
forecasts in a window, a month's measured events, deleting a source's beliefs) are the
functions at the end of this module: set-based, each one query.

Referential integrity without per-row foreign-key checks: a foreign key on this table
runs one lookup per inserted row, which measured at two thirds of the time of storing
a sensor-year (bench/README.md). Instead ``save_beliefs`` checks the batch's sensor and
source ids in one query each and takes the same ``FOR KEY SHARE`` row locks a foreign
key would, so a concurrent delete waits; and deleting sensors or data sources deletes
their beliefs through the statement-level triggers below (one set-based delete).

``newest_measurement`` keeps, per sensor, the start of its newest event measured (by a
source that is not a forecaster): where its next forecasts start, asked on every POST
and by every dashboard row. Finding it in ``timed_belief`` scans backwards past every
forecast beyond it (after a day of 15-minute cycles a day ahead: 14,000 beliefs and
9 ms, more with longer horizons; bench/forecast_origins.py). ``save_beliefs`` moves it
forward in the same transaction; a statement-level trigger finds it again for the
sensors whose beliefs a statement deleted, whatever deleted them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    DDL,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base
from bvp.data.models.data_sources import FORECAST_BY_SQL, MEASURED_BY_SQL, DataSource
from bvp.data.utc import to_utc

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


class NewestMeasurement(Base):
    """The start of the sensor's newest measured event (see the module's docstring)."""

    __tablename__ = "newest_measurement"

    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensor.id", ondelete="CASCADE"), primary_key=True
    )
    event_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The newest measured event of one sensor, found the slow way (migration 0014 holds its
# own copy of this and of the trigger).
NEWEST_MEASURED_OF = f"""
SELECT tb.event_start FROM timed_belief tb JOIN data_source ds ON ds.id = tb.source_id
WHERE tb.sensor_id = {{sensor}} AND {MEASURED_BY_SQL}
ORDER BY tb.event_start DESC LIMIT 1
"""
REFRESH_NEWEST_MEASUREMENT = f"""
CREATE FUNCTION refresh_newest_measurement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM newest_measurement
    WHERE sensor_id IN (SELECT DISTINCT sensor_id FROM deleted_beliefs);
    INSERT INTO newest_measurement (sensor_id, event_start)
    SELECT s.id, newest.event_start
    FROM sensor s
    CROSS JOIN LATERAL ({NEWEST_MEASURED_OF.format(sensor="s.id")}) newest
    WHERE s.id IN (SELECT DISTINCT sensor_id FROM deleted_beliefs)
    ORDER BY s.id;
    RETURN NULL;
END $$;
CREATE TRIGGER refresh_newest_measurement AFTER DELETE ON timed_belief
    REFERENCING OLD TABLE AS deleted_beliefs
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_newest_measurement();
"""
event.listen(NewestMeasurement.__table__, "after_create", DDL(REFRESH_NEWEST_MEASUREMENT))


# -- queries -----------------------------------------------------------------------------


def last_measured_event_start(session: Session, sensor_id: int) -> datetime | None:
    """Start of the latest event with a belief not made by a forecaster (or None)."""
    return last_measured_event_starts(session, [sensor_id]).get(sensor_id)


def last_measured_event_starts(session: Session, sensor_ids: Iterable[int]) -> dict:
    """Sensor id -> start of its latest measured event, for those that have one: one
    query, kept by ``save_beliefs`` and a trigger (``NewestMeasurement``)."""
    rows = session.execute(
        text("SELECT sensor_id, event_start FROM newest_measurement WHERE sensor_id = ANY(:ids)"),
        {"ids": [int(i) for i in sensor_ids]},
    )
    return dict(rows.all())


def probabilities_present(
    session: Session, sensor_id: int, start: datetime, end: datetime, sources: list[int]
) -> list[float]:
    """The cumulative probabilities (quantiles) believed for events in the window."""
    return list(
        session.scalars(
            text(
                "SELECT DISTINCT cumulative_probability FROM timed_belief "
                "WHERE sensor_id = :sensor_id AND event_start >= :start AND event_start < :end "
                "AND source_id = ANY(:sources) ORDER BY 1"
            ),
            {
                "sensor_id": int(sensor_id),
                "start": to_utc(start, "start"),
                "end": to_utc(end, "end"),
                "sources": [int(s) for s in sources],
            },
        )
    )


_FORECASTS_IN_WINDOW = text(
    f"""
    SELECT tb.event_start, tb.belief_time, tb.cumulative_probability AS q,
           tb.event_value AS value, coalesce(ds.model, ds.name) AS model
    FROM timed_belief tb JOIN data_source ds ON ds.id = tb.source_id
    WHERE tb.sensor_id = :sensor_id AND tb.event_start >= :start AND tb.event_start < :end
      AND {FORECAST_BY_SQL}
    """
)
FORECAST_COLUMNS = ["event_start", "belief_time", "q", "value", "model"]


def forecasts_in_window(
    session: Session, sensor_id: int, start: datetime, end: datetime
) -> pd.DataFrame:
    """Every forecast belief about the sensor's events in ``[start, end)``, from every
    origin and quantile: ``event_start``, ``belief_time`` (aware UTC), ``q`` (the
    cumulative probability), ``value`` and ``model`` (the forecaster's model, else its
    name). One query, bounded by ``event_start``."""
    rows = session.execute(
        _FORECASTS_IN_WINDOW,
        {"sensor_id": int(sensor_id), "start": to_utc(start, "start"), "end": to_utc(end, "end")},
    ).all()
    frame = pd.DataFrame(rows, columns=FORECAST_COLUMNS)
    frame["event_start"] = pd.to_datetime(frame["event_start"], utc=True)
    frame["belief_time"] = pd.to_datetime(frame["belief_time"], utc=True)
    return frame


_MEASURED_EVENTS = text(
    """
    SELECT event_start, count(*) AS beliefs, min(belief_time) AS first_belief
    FROM timed_belief
    WHERE sensor_id = :sensor_id AND event_start >= :start AND event_start < :end
      AND cumulative_probability = 0.5 AND source_id <> ALL(:forecasters)
    GROUP BY event_start ORDER BY event_start
    """
)


def measured_events(
    session: Session, sensor_id: int, start: datetime, end: datetime, forecasters: list[int]
) -> list[Row]:
    """The sensor's events in ``[start, end)`` that a source other than ``forecasters``
    believed a value of (the median), in order: ``event_start``, ``beliefs`` (how many:
    more than one is a revision) and ``first_belief`` (when it first arrived). One
    query; ``forecasters`` is ``forecaster_source_ids``, read once by the caller."""
    return session.execute(
        _MEASURED_EVENTS,
        {
            "sensor_id": int(sensor_id),
            "start": to_utc(start, "start"),
            "end": to_utc(end, "end"),
            "forecasters": [int(s) for s in forecasters],
        },
    ).all()


def beliefs_per_source_and_sensor(session: Session, source_type: str, model: str) -> list[Row]:
    """For the data sources of this type and model (the ingestion's importers): per
    source name and sensor, how many beliefs and the newest event's start. One
    aggregate over their beliefs (the ingestion's smoke tests)."""
    query = (
        select(
            DataSource.name, TimedBelief.sensor_id, func.count(), func.max(TimedBelief.event_start)
        )
        .join(DataSource, DataSource.id == TimedBelief.source_id)
        .where(DataSource.type == source_type, DataSource.model == model)
        .group_by(DataSource.name, TimedBelief.sensor_id)
    )
    return session.execute(query).all()


def delete_beliefs_of_source(session: Session, source_id: int) -> int:
    """Delete every belief of one data source (an ingestion reset); how many. One
    statement: the trigger above then finds the touched sensors' newest measurements."""
    return session.execute(
        text("DELETE FROM timed_belief WHERE source_id = :source_id"),
        {"source_id": int(source_id)},
    ).rowcount
