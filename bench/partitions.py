"""Do writes and reads stay flat as timed_belief grows from 1 to 30 million rows?

Grows a scratch database's (BVP_BENCH_DATABASE_URL, default bvp_bench_partitions)
monthly-partitioned beliefs table in steps by adding filler sensors. Each filler
sensor has 15-minute data from 2018-01 to mid-2026 (300,000 rows), so every month's
partition grows with the table, as with a fleet of meters that keeps getting larger.
At each size it times, as medians of BENCH_REPEATS (default 3):

- storing a sensor-year (35,040 new beliefs of 2025) with save_beliefs, and posting
  it again unchanged;
- storing one day (96 beliefs): an API post's write;
- reading a sensor-year back as the latest belief per event, and one day of a filler
  sensor (a dashboard chart).

Filler rows go in with one INSERT … SELECT per sensor (generated in the database),
then ANALYZE, as autovacuum would. Runs in about 10 minutes for the default steps;
``--steps 1,3`` (millions) is a quick look.

    python bench/partitions.py [--steps 1,3,10,20,30]
"""

from __future__ import annotations

import argparse
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
from bvp.data.partitions import ensure_partitions, list_partitions

URL = os.environ.get(
    "BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_partitions"
)
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
FILL_START = pd.Timestamp("2018-01-01T00:00Z")
FILL_ROWS_PER_SENSOR = 300_000  # 15-minute data to mid-2026
YEAR = pd.date_range("2025-01-01T00:00Z", periods=35_040, freq="15min")
DAY = pd.date_range("2025-06-15T00:00Z", periods=96, freq="15min")  # read from fillers
NEW_DAY = pd.date_range("2026-03-10T00:00Z", periods=96, freq="15min")  # new for probes


class Bench:
    def __init__(self) -> None:
        fresh_database(URL)
        self.session = Session()
        self.asset = Asset(name="bench", asset_type="meter", account=Account(name="bench"))
        self.source = DataSource(name="bench", type="script")
        self.session.add_all([self.asset, self.source])
        self.session.commit()
        fill_end = FILL_START + FILL_ROWS_PER_SENSOR * pd.Timedelta("15min")
        ensure_partitions(self.session, pd.date_range(FILL_START, fill_end, freq="MS").values)
        self.session.commit()
        self.fillers: list[int] = []
        self.rows = 0

    def new_sensor(self, name: str) -> int:
        sensor = Sensor(name=name, unit="kW", event_resolution=timedelta(minutes=15))
        sensor.asset = self.asset
        self.session.add(sensor)
        self.session.commit()
        return sensor.id

    def grow_to(self, rows: int) -> float:
        """Add filler sensors until the table holds at least ``rows``; seconds taken."""
        start = time.perf_counter()
        while self.rows < rows:
            sensor_id = self.new_sensor(f"filler {len(self.fillers)}")
            self.session.execute(
                text(
                    "INSERT INTO timed_belief (sensor_id, event_start, belief_time, source_id, "
                    "event_value) "
                    "SELECT :sensor, :start + i * interval '15 minutes', "
                    ":start + (i + 1) * interval '15 minutes', :source, random() * 5 "
                    "FROM generate_series(0, :n - 1) AS i"
                ),
                {
                    "sensor": sensor_id,
                    "start": FILL_START.to_pydatetime(),
                    "source": self.source.id,
                    "n": FILL_ROWS_PER_SENSOR,
                },
            )
            self.session.commit()
            self.fillers.append(sensor_id)
            self.rows += FILL_ROWS_PER_SENSOR
        self.session.execute(text("ANALYZE timed_belief"))
        self.session.commit()
        return time.perf_counter() - start

    def save(self, sensor_id: int, events: pd.DatetimeIndex, values: np.ndarray) -> None:
        save_beliefs(
            self.session,
            {"event_start": events, "event_value": values},
            sensor_id=sensor_id,
            source_id=self.source.id,
            belief_time=events[-1] + pd.Timedelta("1h"),
        )
        self.session.commit()

    def measure(self) -> dict[str, float]:
        rng = np.random.default_rng(len(self.fillers))
        probes = [self.new_sensor(f"probe {self.rows} {i}") for i in range(REPEATS)]
        year_values = rng.random(len(YEAR)) * 5
        figures = {
            "store sensor-year": median(lambda p: self.save(p, YEAR, year_values), probes),
            "re-post it unchanged": median(lambda p: self.save(p, YEAR, year_values), probes),
            "store one day (96)": median(lambda p: self.save(p, NEW_DAY, rng.random(96)), probes),
        }
        self.session.execute(text("ANALYZE timed_belief"))
        self.session.commit()
        end = YEAR[-1] + pd.Timedelta("15min")
        figures["read sensor-year"] = median(
            lambda p: self.read(p, YEAR[0], end, len(YEAR)), probes * 3
        )
        figures["read one day"] = median(
            lambda f: self.read(f, DAY[0], DAY[-1] + pd.Timedelta("15min"), 96),
            self.fillers[-REPEATS:] * 3,
        )
        return figures

    def read(self, sensor_id: int, start, end, expected: int) -> None:
        frame = latest_beliefs(self.session, sensor_id, start, end)
        self.session.commit()
        assert len(frame) == expected, (sensor_id, len(frame), expected)


def median(run: Callable[[int], object], args: list[int]) -> float:
    times = []
    for arg in args:
        start = time.perf_counter()
        run(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,3,10,20,30", help="table sizes, millions of rows")
    steps = [int(float(s) * 1_000_000) for s in parser.parse_args().steps.split(",")]

    bench = Bench()
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    print(f"# timed_belief partitioned by month; medians of {REPEATS}; times in ms\n")
    names = [
        "store sensor-year",
        "re-post it unchanged",
        "store one day (96)",
        "read sensor-year",
        "read one day",
    ]
    header = f"{'rows':>12} {'fill s':>7} " + " ".join(f"{n:>21}" for n in names)
    print(header)
    for target in steps:
        fill = bench.grow_to(target)
        figures = bench.measure()
        cells = " ".join(f"{figures[n] * 1000:>21.1f}" for n in names)
        print(f"{bench.rows:>12,} {fill:>7.0f} {cells}", flush=True)
    partitions = list_partitions(bench.session.connection())
    size = sum(p.bytes for p in partitions) / 1e9
    print(f"\n{len(partitions)} partitions, {size:.1f} GB with indexes")


if __name__ == "__main__":
    main()
