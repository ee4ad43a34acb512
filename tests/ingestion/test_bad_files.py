"""Bad files are recorded as failed with the row and column at fault; nothing of them is
stored, and the other files still go in."""

from __future__ import annotations

import textwrap

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
