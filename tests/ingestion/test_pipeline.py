"""The whole ingestion loop on the example manifest: fetch, import, forecasts, re-runs."""

from __future__ import annotations

import json

from sqlalchemy import select

from bvp.data.models import ForecastOutbox
from bvp.ingestion.load_runs import LoadRun
from bvp.ingestion.registry import DatafileRecord
from bvp.queues import get_queue
from tests.conftest import run_worker
from tests.ingestion.conftest import beliefs_per_sensor, file_requests

EXPECTED = {  # beliefs per sensor from the fixture files (the manual back-fill aside)
    "Day-ahead price": 1800,
    "Observed air temperature": 1056,
    "Observed wind speed": 1056,
    "Load": 4224,
}


def test_getauto_then_runimporters_loads_every_source_and_enqueues_forecasts(ingest, db, redis):
    fetched = ingest("getauto")
    assert fetched.exit_code == 0, fetched.output
    assert "9 files fetched" in fetched.output
    assert beliefs_per_sensor(db) == {}  # fetching stores files, not data

    imported = ingest("runimporters")
    assert imported.exit_code == 0, imported.output
    assert "9 imported, 0 failed" in imported.output
    assert beliefs_per_sensor(db) == EXPECTED
    statuses = set(db.scalars(select(DatafileRecord.status)))
    assert statuses == {"imported"}
    # One forecasting job per sensor that got new data (horizon PT1H in these tests).
    assert get_queue(redis, "forecasting").count == 4
    assert db.scalar(select(ForecastOutbox.sensor_id).limit(1)) is None  # all settled


def test_second_run_downloads_nothing_and_stores_nothing(ingest, db, server):
    assert ingest("getauto").exit_code == 0
    assert ingest("runimporters").exit_code == 0
    downloads_before = len(file_requests(server))
    records_before = db.scalar(select(DatafileRecord.id).order_by(DatafileRecord.id.desc()))

    again = ingest("getauto")
    assert again.exit_code == 0, again.output
    assert "0 files fetched" in again.output
    assert len(file_requests(server)) == downloads_before  # no file asked for again
    weather = [q for _, path, q in server.requests if path.startswith("/weather/")]
    assert weather[-1]["$where"] == "updated_at > '2016-10-15T03:00:00Z'"  # only newer records
    assert ingest("runimporters").output.startswith("run 4 succeeded: 0 files fetched, 0 imported")
    db.expire_all()
    assert db.scalar(select(DatafileRecord.id).order_by(DatafileRecord.id.desc())) == records_before
    assert beliefs_per_sensor(db) == EXPECTED


def test_forced_reimport_changes_nothing(ingest, db):
    ingest("getauto")
    ingest("runimporters")
    again = ingest("runimporters", "--force")
    assert again.exit_code == 0, again.output
    assert "9 imported, 0 failed" in again.output
    assert "0 beliefs created, 0 updated" in again.output
    assert beliefs_per_sensor(db) == EXPECTED


def test_a_worker_turns_imported_data_into_forecasts(ingest, db, redis):
    ingest("getauto", "--source", "wholesale_prices")
    assert ingest("runimporters").exit_code == 0
    run_worker("-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst")
    db.expire_all()
    counts = beliefs_per_sensor(db)
    assert counts["Day-ahead price"] > EXPECTED["Day-ahead price"]  # forecasts were added
    assert get_queue(redis, "forecasting").failed_job_registry.count == 0


def test_update_mode_asks_only_for_what_changed_and_imports_it(ingest, db, server, fixture_root):
    ingest("getauto")
    ingest("runimporters")
    observations = fixture_root / "weather" / "observations.json"
    records = json.loads(observations.read_text())
    records.append(
        {
            "station_id": "SERF",
            "observed_at": "2016-10-15T00:00:00Z",
            "air_temperature_c": 9.5,
            "wind_speed_m_s": 2.5,
            "updated_at": "2016-10-16T03:00:00Z",
        }
    )
    observations.write_text(json.dumps(records))

    updated = ingest("run", "weather_observations")
    assert updated.exit_code == 0, updated.output
    assert "1 files fetched, 1 imported" in updated.output
    assert "2 beliefs created" in updated.output  # one record, two sensors
    new_page = db.scalar(select(DatafileRecord).order_by(DatafileRecord.id.desc()))
    assert new_page.watermark == "2016-10-16T03:00:00Z"

    since = ingest("run", "weather_observations", "--since", "2016-10-14T00:00:00+00:00")
    assert since.exit_code == 0, since.output
    where = [q.get("$where") for _, path, q in server.requests if path.startswith("/weather/")]
    assert where[-1] == "updated_at > '2016-10-14T00:00:00'"
    assert "0 beliefs created" in since.output  # what it brought was known already


def test_naive_since_is_refused(ingest):
    result = ingest("run", "weather_observations", "--since", "2016-10-14T00:00:00")
    assert result.exit_code == 2
    assert "no UTC offset" in result.output


def test_dependencies_are_imported_first_and_a_failed_one_holds_back_its_dependents(
    ingest, db, server
):
    assert ingest("getauto").exit_code == 0
    assert ingest("runimporters").exit_code == 0
    weather_done = max(
        db.scalars(
            select(DatafileRecord.imported_at).where(
                DatafileRecord.source_id == "weather_observations"
            )
        )
    )
    meter_started = min(
        db.scalars(
            select(DatafileRecord.imported_at).where(DatafileRecord.source_id == "building_meter")
        )
    )
    assert weather_done < meter_started

    server.fail("/weather/resource/observations.json", *["503"] * 9)  # 3 pages x 3 tries
    failed = ingest("getauto")
    assert failed.exit_code == 1
    assert "weather_observations: page at offset 0: HTTP 503" in failed.output
    assert "building_meter: skipped, weather_observations failed" in failed.output
    run = db.scalar(select(LoadRun).order_by(LoadRun.id.desc()))
    assert run.status == "failed" and "HTTP 503" in run.error


def test_full_reset_deletes_and_reimports_one_source(ingest, db):
    ingest("getauto")
    ingest("runimporters")
    refused = ingest("run", "building_meter", "--reset")
    assert refused.exit_code == 2 and "--mode full" in refused.output
    kept = ingest("run", "building_meter", "--mode", "full", "--reset", input="n\n")
    assert kept.exit_code == 1  # aborted at the question
    assert beliefs_per_sensor(db)["Load"] == EXPECTED["Load"]

    reset = ingest("run", "building_meter", "--mode", "full", "--reset", "--yes")
    assert reset.exit_code == 0, reset.output
    assert "4,224 beliefs created" in reset.output
    assert beliefs_per_sensor(db) == EXPECTED


def test_a_changed_file_is_a_new_version(ingest, db, fixture_root):
    ingest("getauto")
    ingest("runimporters")
    daily = fixture_root / "meter_exports" / "building_load_2016_10_14.json"
    records = json.loads(daily.read_text())
    records[0]["load_kw"] += 10
    daily.write_text(json.dumps(records))

    result = ingest("run", "building_meter")
    assert result.exit_code == 0, result.output
    assert "1 files fetched, 1 imported" in result.output
    assert "0 beliefs created, 1 updated" in result.output
    versions = db.scalars(
        select(DatafileRecord.checksum).where(DatafileRecord.name == daily.name)
    ).all()
    assert len(set(versions)) == 2


def test_manual_source_file_is_added_once_and_imported_in_local_time(ingest, db, fixture_root):
    path = fixture_root / "manual" / "building_load_2016_08.csv"
    added = ingest("getmanual", "--file", f"building_backfill={path}")
    assert added.exit_code == 0, added.output
    assert "1 files added" in added.output
    assert "already held" in ingest("getmanual", "--file", f"building_backfill={path}").output
    result = ingest("runimporters", "--source", "building_backfill")
    assert result.exit_code == 0, result.output
    assert "2,976 beliefs created" in result.output  # 31 days x 96 quarter-hours
    assert db.scalar(select(DatafileRecord.rows_read)) == 2976
    from sqlalchemy import func

    from bvp.data.models import TimedBelief

    first, last = db.execute(
        select(func.min(TimedBelief.event_start), func.max(TimedBelief.event_start))
    ).one()
    # "2016-08-01 00:00" in Denver (MDT, UTC-6) is 06:00 UTC; the month ends at 05:45 UTC.
    assert first.isoformat() == "2016-08-01T06:00:00+00:00"
    assert last.isoformat() == "2016-09-01T05:45:00+00:00"


def test_interactive_getmanual_lists_sources_and_asks_for_paths(ingest, fixture_root):
    path = fixture_root / "manual" / "building_load_2016_08.csv"
    result = ingest("getmanual", input=f"{path}\n\n")
    assert result.exit_code == 0, result.output
    assert "building_backfill: SERF office building, back-filled history" in result.output
    assert "mailto:facilities@example.org" in result.output
    assert "1 files added" in result.output


def test_two_importers_at_once_import_each_file_once(ingest, db, app, server, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    assert ingest("getauto").exit_code == 0
    env = {
        **os.environ,
        "BVP_ENV": "testing",
        "BVP_INGEST_MANIFEST": app.config["INGEST_MANIFEST"],
        "BVP_INGEST_STORE_URL": app.config["INGEST_STORE_URL"],
        "BVP_FORECAST_HORIZONS": "PT1H",
    }
    command = [sys.executable, "-m", "flask", "ingest", "runimporters"]
    runs = [
        subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    imported = [int(out.split(" imported")[0].rsplit(" ", 1)[-1]) for out, _ in outputs]
    assert sum(imported) == 9, outputs  # each file by one of them
    for run, (_, err) in zip(runs, outputs, strict=True):
        # Whichever found a source busy says so (and exits 1); the other imported it.
        assert run.returncode == 0 or "another run is ingesting it; skipped" in err, err
    assert beliefs_per_sensor(db) == EXPECTED
