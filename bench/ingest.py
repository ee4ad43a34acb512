"""Ingestion: importing a 1,000,000-row CSV against ``save_beliefs`` alone on the same rows.

Writes a CSV of 1,000,000 quarter-hours (ISO 8601 timestamps with offsets, one value
column), fetches it through the ``local_dir`` fetcher into a raw store, then times:

- the import: Arrow CSV read, timestamp and number checks, grid check, unit conversion,
  ``save_beliefs`` (binary COPY -> staging -> upsert), registry row, commit;
- ``save_beliefs`` alone on the same arrays, parsed before the clock starts (the floor);
- a forced re-import of the same file (nothing changes);
- the fetch itself (copy into the raw store with sha256, registry rows).

Runs against BVP_BENCH_DATABASE_URL (default: database `bvp_bench_ingest` on the local
server, created and migrated if missing). Usage: python bench/ingest.py
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text, update

from bvp.app import fresh_database
from bvp.data.beliefs import save_beliefs
from bvp.data.db import Session
from bvp.data.models import Account
from bvp.data.transactional import transactional
from bvp.ingestion.manifest import load_manifest
from bvp.ingestion.registry import FETCHED, DatafileRecord
from bvp.ingestion.run_request import IngestionSettings
from bvp.ingestion.runs import Ingestion, ingestion_data_source
from bvp.ingestion.sensors import ensure_sensors

URL = os.environ.get(
    "BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_ingest"
)
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
MANIFEST = """
sensors:
  meter: {account: bench, asset: bench, name: meter, unit: kW, resolution: PT15M,
          timezone: Europe/Amsterdam}
sources:
  - id: meters
    title: Bench meter exports
    description: One big CSV
    tags: [bench]
    fetcher: {name: local_dir, options: {path: "DROP"}}
    importers:
      - name: csv
        files: '\\.csv$'
        options: {timestamp_column: time, columns: {value: {sensor: meter, unit: W}}}
"""


def write_csv(folder: Path) -> Path:
    events = pd.date_range("1995-01-01T00:00Z", periods=ROWS, freq="15min")
    values = np.random.default_rng(1).normal(50_000, 10_000, ROWS).round(1)
    local = events.tz_convert("Europe/Amsterdam").strftime("%Y-%m-%dT%H:%M:%S%z")
    path = folder / "meter_export.csv"
    pd.DataFrame({"time": local, "value": values}).to_csv(path, index=False)
    return path


def truncate_and_unmark() -> None:
    with transactional() as session:
        session.execute(text("TRUNCATE timed_belief"))
        session.execute(update(DatafileRecord).values(status=FETCHED))


def median_time(run, before, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    fresh_database(URL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drop"
        folder.mkdir()
        csv = write_csv(folder)
        manifest_path = Path(tmp) / "manifest.yaml"
        manifest_path.write_text(textwrap.dedent(MANIFEST).replace("DROP", str(folder)))
        manifest = load_manifest(manifest_path)
        source = manifest.source("meters")
        ingestion = Ingestion(manifest, IngestionSettings(store_url=str(Path(tmp) / "raw")))
        with transactional() as session:
            session.add(Account(name="bench"))
            session.flush()
            sensor_id = ensure_sensors(session, manifest.sensors, {"meter"})["meter"].id
            source_id = ingestion_data_source(session, source).id

        start = time.perf_counter()
        fetched = ingestion.fetch(source, "update", None, None)
        fetch_seconds = time.perf_counter() - start
        assert fetched.files_fetched == 1, fetched.errors

        def import_file() -> None:
            done = ingestion.import_source(source, None)
            assert done.files_imported == 1 and done.rows_read == ROWS, done.errors

        import_seconds = median_time(import_file, truncate_and_unmark)

        frame = pd.read_csv(csv)
        events = pd.DatetimeIndex(pd.to_datetime(frame["time"], utc=True, format="ISO8601"))
        arrays = {
            "event_start": events,
            "belief_time": events + pd.Timedelta(minutes=15),
            "event_value": frame["value"].to_numpy() / 1000,
        }

        def save_alone() -> None:
            session = Session()
            result = save_beliefs(session, arrays, sensor_id=sensor_id, source_id=source_id)
            session.commit()
            assert result.created == ROWS

        save_seconds = median_time(save_alone, truncate_and_unmark)

        def reimport() -> None:
            done = ingestion.import_source(source, None, everything=True)
            assert done.beliefs_created == done.beliefs_updated == 0

        reimport_seconds = median_time(reimport, lambda: None)
        size_mb = csv.stat().st_size / 1e6

    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    print(f"# {ROWS:,}-row CSV ({size_mb:.1f} MB); median of {REPEATS} runs\n")
    print(f"{'what':52} {'seconds':>8} {'rows/s':>11}")
    for what, seconds in (
        ("fetch (local_dir: copy into raw store, sha256)", fetch_seconds),
        ("import CSV -> beliefs (empty table)", import_seconds),
        ("save_beliefs alone, same rows (empty table)", save_seconds),
        ("re-import the same file (nothing changes)", reimport_seconds),
    ):
        print(f"{what:52} {seconds:>8.3f} {ROWS / seconds:>11,.0f}")
    print(f"\nimport / save_beliefs alone: {import_seconds / save_seconds:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
