"""Sensor statistics (GET /api/v1/sensors/<id>/stats) on a sensor-year.

Prints ms for ``sensor_statistics`` of one sensor-year at 15 minutes (35,040 events)
holding three beliefs per event from a meter (measured, then two corrections: 105,120
rows), unbounded, over the year as a window and over one month; next to
``latest_beliefs`` of the same year (one ``DISTINCT ON`` read, no aggregation) for scale.
With ``BENCH_FORECASTS=1`` a forecaster also believes a value per event (one more source).

Runs against BVP_BENCH_DATABASE_URL (default: database `bvp_bench` on the local
server, created and migrated if missing). Usage: python bench/sensor_stats.py
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text

from bvp.app import fresh_database
from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.db import Session
from bvp.data.models import Account, Asset, DataSource, Sensor
from bvp.data.sensor_stats import sensor_statistics

URL = os.environ.get("BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench")
YEAR = pd.date_range("2024-01-01T00:00Z", periods=35_040, freq="15min")
REPEATS = int(os.environ.get("BENCH_REPEATS", "10"))
FORECASTS = os.environ.get("BENCH_FORECASTS") == "1"


def setup() -> tuple[Sensor, np.ndarray]:
    """A sensor-year with three beliefs per event (and a forecast per event if asked)."""
    fresh_database(URL)
    session = Session()
    asset = Asset(name="bench", asset_type="pv", account=Account(name="bench"))
    sensor = Sensor(name="s", unit="kW", event_resolution=timedelta(minutes=15), asset=asset)
    meter = DataSource(name="meter", type="importer")
    model = DataSource(name="model", type="forecaster", model="bench", version="1")
    session.add_all([asset, sensor, meter, model])
    session.flush()
    values = np.random.default_rng(1).random(len(YEAR)) * 5
    for hours_late in (0, 1, 2):
        save_beliefs(
            session,
            {
                "event_start": YEAR,
                "belief_time": YEAR + pd.Timedelta(minutes=15, hours=hours_late),
                "event_value": values + hours_late,
            },
            sensor_id=sensor.id,
            source_id=meter.id,
        )
    if FORECASTS:
        save_beliefs(
            session,
            {
                "event_start": YEAR,
                "belief_time": YEAR - pd.Timedelta(days=1),
                "event_value": values,
            },
            sensor_id=sensor.id,
            source_id=model.id,
        )
    session.commit()
    session.execute(text("ANALYZE timed_belief"))  # as autovacuum would by now
    session.commit()
    return sensor, values


def median_ms(run: Callable[[], object]) -> float:
    session = Session()
    run()  # warm: the connection's first query plans its partitions' catalog
    session.commit()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        session.commit()
    return statistics.median(times) * 1000


def main() -> None:
    sensor, values = setup()
    session = Session()
    end = YEAR[-1] + pd.Timedelta(minutes=15)
    rows = session.scalar(text("SELECT count(*) FROM timed_belief"))
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    print(f"# {rows:,} beliefs about {len(YEAR):,} events; median of {REPEATS} runs\n")
    stats = sensor_statistics(session, sensor)
    assert stats.measured is not None and stats.measured.count == len(YEAR)
    meter = next(s for s in stats.sources if s.source == "meter")
    assert abs(stats.measured.mean - (values.mean() + 2)) < 1e-9  # the latest corrections
    assert meter.count == len(YEAR) and meter.share_missing == 0
    for what, run in (
        ("sensor_statistics, no window", lambda: sensor_statistics(session, sensor)),
        ("sensor_statistics, the year", lambda: sensor_statistics(session, sensor, YEAR[0], end)),
        (
            "sensor_statistics, one month",
            lambda: sensor_statistics(session, sensor, YEAR[0], pd.Timestamp("2024-02-01T00:00Z")),
        ),
        (
            "latest_beliefs of the year (for scale)",
            lambda: latest_beliefs(session, sensor.id, YEAR[0], end),
        ),
    ):
        print(f"{what:44} {median_ms(run):8.1f} ms")


if __name__ == "__main__":
    main()
