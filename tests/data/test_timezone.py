"""The server's default time zone is not UTC in this suite; BVP's connections are."""

import numpy as np
import pandas as pd
import psycopg2
from sqlalchemy import text

from bvp.data.beliefs import latest_beliefs, save_beliefs
from tests.conftest import SERVER_TIME_ZONE, psycopg2_dsn


def test_server_default_is_not_utc_but_every_bvp_connection_is(app, db):
    raw = psycopg2.connect(psycopg2_dsn(app.config["DATABASE_URL"]))
    with raw.cursor() as cursor:
        cursor.execute("SHOW timezone")
        assert cursor.fetchone()[0] == SERVER_TIME_ZONE
    raw.close()
    assert db.scalar(text("SHOW timezone")) == "UTC"
    db.rollback()  # a rollback must not undo the time zone
    assert db.scalar(text("SHOW timezone")) == "UTC"


def test_amsterdam_dst_days_round_trip_through_the_database(db, sensor):
    for local_day, quarters in (("2024-03-31", 92), ("2024-10-27", 100)):
        day = pd.Timestamp(local_day, tz="Europe/Amsterdam")
        next_day = day + pd.DateOffset(days=1)
        local = pd.date_range(day, next_day, freq="15min", inclusive="left")
        values = np.arange(len(local), dtype=float)
        save_beliefs(
            db,
            {"event_start": [t.isoformat() for t in local], "event_value": values},
            sensor_id=sensor.id,
            source_id=1,
            belief_time=next_day.to_pydatetime(),
        )
        db.commit()
        frame = latest_beliefs(db, sensor.id, day.to_pydatetime(), next_day.to_pydatetime())
        assert len(frame) == quarters
        assert (frame.index == local.tz_convert("UTC")).all()
        np.testing.assert_array_equal(frame["event_value"], values)
        # The database itself renders UTC, whatever its server default.
        first = db.scalar(
            text("SELECT min(event_start)::text FROM timed_belief WHERE event_start >= :d"),
            {"d": day.to_pydatetime()},
        )
        assert first == day.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S+00")
