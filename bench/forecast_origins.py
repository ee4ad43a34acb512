"""Where a sensor's next forecasts start, after a day of 15-minute forecasting cycles.

Every POST asks it (for the sensor and the sensors using it as a regressor), and so do
the sensors page (per sensor) and the jobs' enqueueing. It is the end of the newest
measured event: beliefs of any source but a forecaster. One sensor-year of
quarter-hours is stored, then a day-ahead forecast (p10, p50, p90) from each of a
day's 96 quarter-hour origins, as a day of cycles leaves them. Prints the milliseconds
of the lookup BVP makes (``newest_measurement``, kept by ``save_beliefs`` and a
trigger) against the scan it replaced (backwards through ``timed_belief``, past every
forecast beyond the newest measurement), and of a one-value save, which now also keeps
the newest measurement.

Runs against BVP_BENCH_DATABASE_URL (default: database `bvp_bench` on the local
server, created and migrated afresh). Usage: python bench/forecast_origins.py
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text

from bvp.app import fresh_database
from bvp.data.beliefs import save_beliefs
from bvp.data.db import Session
from bvp.data.models import Account, Asset, DataSource, Sensor
from bvp.data.models.beliefs import NEWEST_MEASURED_OF, last_measured_event_start

URL = os.environ.get("BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench")
QUARTER = pd.Timedelta(minutes=15)
NOW = pd.Timestamp("2025-01-01T00:00Z")
REPEATS = 200


def milliseconds(run, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    fresh_database(URL)
    session = Session()
    account = Account(name="bench")
    asset = Asset(name="bench", asset_type="pv", account=account)
    sensor = Sensor(name="meter", unit="kW", event_resolution=timedelta(minutes=15), asset=asset)
    meter = DataSource(name="meter", type="user")
    forecaster = DataSource(name="BVP", type="forecaster", model="lightgbm", version="2")
    session.add_all([account, asset, sensor, meter, forecaster])
    session.commit()
    year = pd.date_range(NOW - pd.Timedelta(days=365), NOW, freq=QUARTER, inclusive="left")
    save_beliefs(
        session,
        {"event_start": year, "event_value": np.random.default_rng(1).random(len(year))},
        sensor_id=sensor.id,
        source_id=meter.id,
        belief_time=NOW.to_pydatetime(),
    )
    for step in range(96):  # a day of cycles: a forecast a day ahead from every origin
        origin = NOW - pd.Timedelta(days=1) + (step + 1) * QUARTER
        events = pd.date_range(origin, periods=96, freq=QUARTER)
        for probability in (0.1, 0.5, 0.9):
            save_beliefs(
                session,
                {"event_start": events, "event_value": np.ones(96)},
                sensor_id=sensor.id,
                source_id=forecaster.id,
                belief_time=origin.to_pydatetime(),
                cumulative_probability=probability,
            )
    session.commit()
    scan = text(NEWEST_MEASURED_OF.format(sensor=":sensor"))
    assert session.scalar(scan, {"sensor": sensor.id}) == last_measured_event_start(
        session, sensor.id
    )
    forecasts = session.scalar(
        text("SELECT count(*) FROM timed_belief WHERE event_start >= :n"), {"n": NOW}
    )
    scanned = milliseconds(lambda: session.scalar(scan, {"sensor": sensor.id}))
    kept = milliseconds(lambda: last_measured_event_start(session, sensor.id))
    print(
        f"newest measured event, {forecasts:,} forecast beliefs beyond it: "
        f"scan {scanned:.2f} ms, newest_measurement {kept:.2f} ms (median of {REPEATS})"
    )
    steps = iter(range(10**6))

    def one_value() -> None:
        event = NOW + next(steps) * QUARTER
        save_beliefs(
            session,
            {"event_start": [event], "event_value": [1.0]},
            sensor_id=sensor.id,
            source_id=meter.id,
            belief_time=(event + QUARTER).to_pydatetime(),
        )
        session.commit()

    print(f"one-value save_beliefs and commit: {milliseconds(one_value):.2f} ms")
    session.close()


if __name__ == "__main__":
    main()
