"""Bad files are recorded as failed with the row and column at fault; nothing of them is
stored, and the other files still go in."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from sqlalchemy import select

from bvp.ingestion.registry import DatafileRecord
from tests.ingestion.conftest import FIXTURES, beliefs_per_sensor

MANIFEST = """
sensors:
  meter: {account: Demo account, asset: Depot, name: Meter, unit: kW, resolution: PT15M,
          timezone: Europe/Amsterdam}
sources:
  - id: drop
    title: Drop folder
    description: Meter files dropped by a contractor
    tags: [meters]
    fetcher: {name: local_dir, options: {path: "DROP"}}
    importers:
      - name: csv
        files: '^local_.*\\.csv$'
        options: {timestamp_column: time, timezone: Europe/Amsterdam, columns: {value: meter}}
      - name: csv
        files: '\\.csv$'
        options: {timestamp_column: time, columns: {value: {sensor: meter, unit: W}}}
      - name: parquet
        files: '\\.parquet$'
        options: {timestamp_column: interval_start, columns: {load_kw: meter}}
"""

FILES = {
    "good.csv": "time,value\n"
    "2024-01-01T00:00:00+01:00,1000\n2024-01-01T00:15:00+01:00,2000\n"
    "2024-01-01T00:30:00+01:00,\n2024-01-01T00:45:00Z,4000\n",
    "malformed.csv": "time,value\n2024-01-02T00:00:00Z,1\n2024-01-02T00:15:00Z,2,3\n",
    "wrong_columns.csv": "time,power\n2024-01-03T00:00:00Z,1\n",
    "naive.csv": "time,value\n2024-01-04 00:00:00,1\n2024-01-04 00:15:00,2\n",
    "mixed.csv": "time,value\n2024-01-05T00:00:00Z,1\n2024-01-05 00:15:00,2\n",
    "not_a_number.csv": "time,value\n2024-01-06T00:00:00Z,1\n2024-01-06T00:15:00Z,2\n"
    "2024-01-06T00:30:00Z,twelve\n",
    "off_grid.csv": "time,value\n2024-01-07T00:00:00Z,1\n2024-01-07T00:07:00Z,2\n",
    "local_dst.csv": "time,value\n2024-10-27 02:15,1\n2024-10-27 02:30,2\n",
    "empty.csv": "",
}
ERRORS = {
    "malformed.csv": "malformed CSV: Expected 2 columns, got 3",
    "wrong_columns.csv": "missing column(s) 'value'; the file has: 'time', 'power'",
    "naive.csv": "line 2, column 'time': '2024-01-04 00:00:00' has no UTC offset; give one in the "
    "file or set the importer's 'timezone' option",
    "mixed.csv": "line 3, column 'time': '2024-01-05 00:15:00' has no UTC offset while other rows "
    "have one",
    "not_a_number.csv": "line 4, column 'value': 'twelve' is not a number",
    "off_grid.csv": "line 3, column 'value': 2024-01-07T00:07:00+00:00 is not on sensor 'Meter''s "
    "PT15M grid",
    "local_dst.csv": "line 2, column 'time': '2024-10-27 02:15:00' does not exist or happens twice "
    "in Europe/Amsterdam (a DST change); give it with its UTC offset",
    "empty.csv": "the file is empty: no header line",
    "mis_encoded.csv": "line 3, column 'value': b'caf\\xe9' is not UTF-8 text; set the "
    "importer's 'encoding' option",
    "truncated.parquet": "not a readable Parquet file",
}


def empty_folder(folder) -> None:
    for path in folder.iterdir():
        path.unlink()


@pytest.fixture
def drop(ingest, tmp_path, monkeypatch, app):
    folder = tmp_path / "drop"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    (folder / "mis_encoded.csv").write_bytes(
        b"time,value\n2024-01-08T00:00:00Z,1\n2024-01-08T00:15:00Z,caf\xe9\n"
    )
    parquet = (FIXTURES / "meter_exports" / "building_load_2016_10.parquet").read_bytes()
    (folder / "truncated.parquet").write_bytes(parquet[: len(parquet) // 2])
    manifest = tmp_path / "drop.yaml"
    manifest.write_text(textwrap.dedent(MANIFEST).replace("DROP", str(folder)))
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(manifest))
    return folder


def test_bad_files_fail_with_their_row_and_column_and_store_nothing(ingest, drop, db):
    assert ingest("getauto").exit_code == 0
    result = ingest("runimporters")
    assert result.exit_code == 1
    assert f"1 imported, {len(ERRORS)} failed" in result.output
    records = {r.name: r for r in db.scalars(select(DatafileRecord))}
    assert records["good.csv"].status == "imported"
    for name, message in ERRORS.items():
        assert records[name].status == "failed", name
        assert message in records[name].error, (name, records[name].error)
        assert f"drop/{name}: " in result.stderr
    # Only the good file's three values (W converted to kW; the empty cell skipped).
    assert beliefs_per_sensor(db) == {"Meter": 3}


def test_failed_files_stay_failed_until_forced_or_fixed(ingest, drop, db):
    ingest("getauto")
    ingest("runimporters")
    again = ingest("runimporters")
    assert again.exit_code == 0 and "0 imported, 0 failed" in again.output
    (drop / "naive.csv").write_text("time,value\n2024-01-04T00:00:00Z,1\n")
    assert "1 files fetched" in ingest("getauto").output  # a fixed file is a new version
    fixed = ingest("runimporters")
    assert "1 imported, 0 failed" in fixed.output
    assert beliefs_per_sensor(db) == {"Meter": 4}
    forced = ingest("runimporters", "--force")
    assert forced.exit_code == 1 and f"{len(ERRORS)} failed" in forced.output


def test_status_shows_failed_files(ingest, drop):
    ingest("getauto")
    ingest("runimporters")
    status = ingest("status")
    assert status.exit_code == 0, status.output
    assert f"{len(ERRORS)} failed, 1 imported" in status.output


def test_a_local_time_day_across_the_autumn_dst_change_imports_in_order(ingest, drop, db):
    """A contractor's local-time export lists the repeated hour twice, in order."""
    empty_folder(drop)
    local = [f"2024-10-27 {h:02d}:{m:02d}" for h in range(3) for m in (0, 15, 30, 45)]
    local += [f"2024-10-27 {h:02d}:{m:02d}" for h in range(2, 24) for m in (0, 15, 30, 45)]
    (drop / "local_day.csv").write_text(
        "time,value\n" + "".join(f"{t},{i}\n" for i, t in enumerate(local))
    )
    ingest("getauto")
    result = ingest("runimporters")
    assert result.exit_code == 0, result.output
    assert "100 beliefs created" in result.output  # a 25-hour day of quarter-hours
    from bvp.data.beliefs import latest_beliefs
    from bvp.data.models import Sensor

    sensor = db.scalar(select(Sensor).where(Sensor.name == "Meter"))
    stored = latest_beliefs(
        db, sensor.id, pd.Timestamp("2024-10-26T22:00Z"), pd.Timestamp("2024-10-27T23:00Z")
    )["event_value"]
    assert stored.index[0] == pd.Timestamp("2024-10-26T22:00Z")  # local midnight, CEST
    assert stored[pd.Timestamp("2024-10-27T00:00Z")] == 8  # the first 02:00 (CEST)
    assert stored[pd.Timestamp("2024-10-27T01:00Z")] == 12  # the second 02:00 (CET)


def test_empty_exports_are_imported_with_nothing_in_them(ingest, drop, db):
    empty_folder(drop)
    (drop / "header_only.csv").write_text("time,value\n")
    ingest("getauto")
    result = ingest("runimporters")
    assert result.exit_code == 0, result.output
    assert "1 imported, 0 failed; 0 rows read" in result.output


def test_a_date_is_not_a_time_at_an_offset(ingest, drop, db):
    """'2024-01-09' must not be read as midnight at UTC-09 (or at UTC)."""
    empty_folder(drop)
    (drop / "dates.csv").write_text("time,value\n2024-01-09T00:00:00Z,1\n2024-01-10,2\n")
    ingest("getauto")
    result = ingest("runimporters")
    assert result.exit_code == 1
    assert "line 3, column 'time': '2024-01-10' has no UTC offset while other rows" in result.stderr
