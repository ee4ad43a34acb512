"""Time-series I/O: save_beliefs and latest_beliefs against a raw COPY + upsert.

Prints rows/s for saving 35,040 (one sensor-year at 15 minutes) and 1,000,000 beliefs,
the same rows through a hand-written binary COPY + the same upsert (the floor), a
re-post of the same year (nothing changes), and ms for reading one sensor-year with
three beliefs per event back as the latest belief per event.

Runs against BVP_BENCH_DATABASE_URL (default: database `bvp_bench` on the local
server, created and migrated if missing). Usage: python bench/timeseries_io.py
"""

from __future__ import annotations

import io
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
from bvp.data.belief_copy import BELIEF_COLUMNS, encode_beliefs, to_pg_us
from bvp.data.beliefs import (
    _CREATE_STAGING,
    _INSERT_NEW,
    _STAGING,
    _UPDATE_CHANGED,
    latest_beliefs,
    save_beliefs,
)
from bvp.data.db import Session
from bvp.data.models import Account, Asset, DataSource, Sensor

URL = os.environ.get("BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench")
YEAR = pd.date_range("2024-01-01T00:00Z", periods=35_040, freq="15min")
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def setup() -> tuple[list[int], int]:
    fresh_database(URL)
    session = Session()
    account = Account(name="bench")
    asset = Asset(name="bench", asset_type="pv", account=account)
    sensors = [
        Sensor(name=f"s{i}", unit="kW", event_resolution=timedelta(minutes=15), asset=asset)
        for i in range(30)
    ]
    source = DataSource(name="bench", type="script")
    session.add_all([account, asset, source, *sensors])
    session.commit()
    return [s.id for s in sensors], source.id


def truncate() -> None:
    session = Session()
    session.execute(text("TRUNCATE timed_belief"))
    session.commit()


def timed(
    run: Callable[[], object], before: Callable[[], object] = truncate, repeats: int = REPEATS
) -> float:
    """Median wall time of ``run`` (and its commit), with ``before`` (untimed) each time."""
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        run()
        Session().commit()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def year_of_beliefs(sensor_ids: list[int], events: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    n = len(events)
    rng = np.random.default_rng(1)
    starts = pd.DatetimeIndex(np.tile(events.tz_convert(None).to_numpy(), len(sensor_ids)))
    starts = starts.tz_localize("UTC")
    return {
        "sensor_id": np.repeat(sensor_ids, n),
        "event_start": starts,
        "belief_time": starts + pd.Timedelta(minutes=15),
        "event_value": rng.random(n * len(sensor_ids)) * 5,
    }


def raw_binary_copy(beliefs: dict[str, np.ndarray], source_id: int) -> bytes:
    """The bytes a hand-written loader would COPY (built before timing starts)."""
    arrays = {
        "sensor_id": beliefs["sensor_id"],
        "event_start": to_pg_us(pd.DatetimeIndex(beliefs["event_start"])),
        "belief_time": to_pg_us(pd.DatetimeIndex(beliefs["belief_time"])),
        "source_id": np.full(len(beliefs["event_value"]), source_id),
        "cumulative_probability": np.full(len(beliefs["event_value"]), 0.5),
        "event_value": beliefs["event_value"],
    }
    return encode_beliefs(arrays)


def raw_csv_copy(beliefs: dict[str, np.ndarray], source_id: int) -> bytes:
    frame = pd.DataFrame(
        {
            "sensor_id": beliefs["sensor_id"],
            "event_start": pd.DatetimeIndex(beliefs["event_start"]),
            "belief_time": pd.DatetimeIndex(beliefs["belief_time"]),
            "source_id": source_id,
            "cumulative_probability": 0.5,
            "event_value": beliefs["event_value"],
        }
    )
    return frame.to_csv(index=False, header=False).encode()


def raw_copy_upsert(payload: bytes, binary: bool, rows: int) -> None:
    cursor = Session().connection().connection.dbapi_connection.cursor()
    cursor.execute(_CREATE_STAGING)
    cursor.execute(f"TRUNCATE {_STAGING}")
    fmt = "binary" if binary else "csv"
    cursor.copy_expert(
        f"COPY {_STAGING} ({', '.join(BELIEF_COLUMNS)}) FROM STDIN WITH (FORMAT {fmt})",
        io.BytesIO(payload),
    )
    cursor.execute(_INSERT_NEW)
    if cursor.rowcount < rows:  # as save_beliefs: update only when some keys existed
        cursor.execute(_UPDATE_CHANGED)
    cursor.close()


def main() -> None:
    sensor_ids, source_id = setup()
    session = Session()
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    print(f"# median of {REPEATS} runs (3 for 1M rows)\n")
    print(f"{'what':58} {'rows':>9} {'seconds':>8} {'rows/s':>11}")

    def report(what: str, rows: int, seconds: float) -> None:
        print(f"{what:58} {rows:>9,} {seconds:>8.3f} {rows / seconds:>11,.0f}")

    results = {}
    for label, ids, events, repeats in (
        ("sensor-year", sensor_ids[:1], YEAR, REPEATS),
        ("1M beliefs", sensor_ids[:10], pd.date_range(YEAR[0], periods=100_000, freq="15min"), 3),
    ):
        beliefs = year_of_beliefs(ids, events)
        rows = len(beliefs["event_value"])
        binary, csv = raw_binary_copy(beliefs, source_id), raw_csv_copy(beliefs, source_id)
        t_save = timed(
            lambda b=beliefs: save_beliefs(session, b, source_id=source_id), repeats=repeats
        )
        t_binary = timed(lambda p=binary, n=rows: raw_copy_upsert(p, True, n), repeats=repeats)
        t_csv = timed(lambda p=csv, n=rows: raw_copy_upsert(p, False, n), repeats=repeats)
        t_repost = timed(
            lambda b=beliefs: save_beliefs(session, b, source_id=source_id),
            before=lambda: None,  # table already holds these rows: all unchanged
            repeats=repeats,
        )
        report(f"{label}: save_beliefs (validate, encode, COPY, upsert)", rows, t_save)
        report(f"{label}: raw binary COPY + upsert (bytes prebuilt)", rows, t_binary)
        report(f"{label}: raw CSV COPY + upsert (text prebuilt)", rows, t_csv)
        report(f"{label}: save_beliefs re-post, nothing changes", rows, t_repost)
        results[label] = (t_save, t_binary, t_csv)

    # Read: one sensor-year with three beliefs per event (measured, then two corrections).
    truncate()
    for hours_late in (0, 1, 2):
        beliefs = year_of_beliefs(sensor_ids[:1], YEAR)
        beliefs["belief_time"] = beliefs["belief_time"] + pd.Timedelta(hours=hours_late)
        save_beliefs(session, beliefs, source_id=source_id)
    session.execute(text("ANALYZE timed_belief"))  # as autovacuum would by now
    session.commit()
    read_times = []
    for _ in range(max(REPEATS, 10)):
        start = time.perf_counter()
        frame = latest_beliefs(session, sensor_ids[0], YEAR[0], YEAR[-1] + pd.Timedelta("15min"))
        read_times.append(time.perf_counter() - start)
        session.commit()
    assert len(frame) == len(YEAR)
    read_ms = statistics.median(read_times) * 1000
    print(f"\nread sensor-year (35,040 events x 3 beliefs) as latest per event: {read_ms:.1f} ms")
    for label, (t_save, t_binary, t_csv) in results.items():
        print(
            f"{label}: save_beliefs / raw binary = {t_save / t_binary:.2f}x, "
            f"/ raw CSV = {t_save / t_csv:.2f}x  (target <= 1.5x of raw)"
        )


if __name__ == "__main__":
    main()
