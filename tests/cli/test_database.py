"""flask db_create / db_populate / db_depopulate / db_partitions, and `flask db` from the repo
root."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, text

from bvp.data.beliefs import latest_beliefs
from bvp.data.models import Account, Sensor, TimedBelief, User
from bvp.data.passwords import verify_password

REPO = Path(__file__).resolve().parents[2]


def run(app, *args, input=None, exit_code=0):
    """The command's result; it must end with ``exit_code`` (0 unless told otherwise)."""
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == exit_code, result.output
    return result


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_populate_structure_and_real_data_reads_back_in_utc(app, db, redis):
    result = run(app, "db_populate", "--structure", "--data", "--admin-password", "s3cret-pass")
    assert result.exit_code == 0, result.output
    assert "created  user admin@bvp.example (admin)" in result.output
    assert "already existed" not in result.output, result.output  # a first run: nothing
    assert "pv_power: 10000 beliefs created" in result.output
    assert "queued forecasting jobs: forecast-s" in result.output  # new data: forecasts due

    pv = db.scalar(select(Sensor).where(Sensor.name == "AC power"))
    assert pv.unit == "kW" and pv.timezone == "America/Denver"
    frame = latest_beliefs(
        db, pv.id, pd.Timestamp("2016-07-01T00:00Z"), pd.Timestamp("2016-11-01T00:00Z")
    )
    assert len(frame) == 10000
    assert str(frame.index.tz) == "UTC"
    # The file says 2016-07-01 00:00:00-07:00: the first event starts 07:00 UTC.
    assert frame.index[0] == pd.Timestamp("2016-07-01T07:00Z")
    # A real PV system: near zero at night, a few kW around solar noon (~19:00 UTC).
    noon = frame.between_time("18:30", "19:30")["event_value"]
    night = frame.between_time("06:00", "10:00")["event_value"]
    assert 3 < noon.median() < 6 and abs(night.median()) < 0.05
    admin = db.scalar(select(User))
    assert verify_password(admin.password_hash, "s3cret-pass")
    assert "s3cret-pass" not in admin.password_hash


def test_db_partitions_lists_the_months_the_sample_data_filled(app, db, redis):
    run(app, "db_populate", "--structure", "--data", "--admin-password", "s3cret-pass")
    db.execute(text("ANALYZE timed_belief"))
    db.commit()
    result = run(app, "db_partitions")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    # The sample runs from July to October 2016 (UTC); every month has its partition.
    for month in ("07", "08", "09", "10"):
        name = f"timed_belief_y2016m{month}"
        assert lines[name][1] == f"2016-{month}-01"
    total = sum(int(line[-2].replace(",", "")) for line in lines.values())
    assert total == count(db, TimedBelief)


def test_populate_twice_changes_nothing(app, db, redis):
    run(app, "db_populate", "--structure", "--data", "--admin-password", "s3cret-pass")
    rows = count(db, TimedBelief)
    db.rollback()
    result = run(app, "db_populate", "--structure", "--data")  # no password needed now
    assert result.exit_code == 0, result.output
    assert "0 beliefs created, 0 updated, 10000 unchanged" in result.output
    assert count(db, TimedBelief) == rows


def test_admin_password_is_prompted_when_not_given(app, db, redis):
    result = run(app, "db_populate", "--structure", input="typed-pass1\ntyped-pass1\n")
    assert result.exit_code == 0, result.output
    assert verify_password(db.scalar(select(User)).password_hash, "typed-pass1")


def test_populate_without_a_flag_says_what_to_do(app, db):
    result = run(app, "db_populate", exit_code=2)
    assert result.exit_code == 2
    assert "--structure, --data and/or --forecasts" in result.output


def test_populate_forecasts_writes_forecasts_from_the_latest_measurement(app, db, redis):
    run(app, "db_populate", "--structure", "--data", "--forecasts", "--admin-password", "pw-12345")
    result = run(app, "db_populate", "--forecasts")
    assert "P1D ahead from 2016-10-13T11:00Z" in result.output
    pv = db.scalar(select(Sensor).where(Sensor.name == "AC power"))
    forecast = latest_beliefs(
        db, pv.id, pd.Timestamp("2016-10-13T11:00Z"), pd.Timestamp("2016-10-14T11:00Z")
    )
    assert len(forecast) == 96
    assert (forecast["belief_time"] == pd.Timestamp("2016-10-13T11:00Z")).all()


def test_depopulate_asks_first_and_removes_only_what_was_asked(app, db, redis):
    run(app, "db_populate", "--structure", "--data", "--forecasts", "--admin-password", "pw-12345")
    measured_and_forecast = count(db, TimedBelief)
    db.rollback()
    refused = run(app, "db_depopulate", "--forecasts", input="n\n", exit_code=1)
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert count(db, TimedBelief) == measured_and_forecast
    db.rollback()
    result = run(app, "db_depopulate", "--forecasts", "--yes")
    # 3 sensors x 96 quarter-hours a day ahead; the 1 h and 6 h forecasts from the same
    # origin are the same beliefs (same event, belief time and source).
    assert "deleted 288 forecast beliefs" in result.output
    assert count(db, TimedBelief) == 30000
    db.rollback()
    result = run(app, "db_depopulate", "--structure", "--data", "--yes")
    assert result.exit_code == 0, result.output
    assert count(db, TimedBelief) == 0 and count(db, Account) == 0


def test_flask_finds_the_app_from_the_repo_root_and_migrations_are_at_head(app, db):
    env = {**os.environ, "BVP_ENV": "testing"}
    env.pop("FLASK_APP", None)
    flask = [sys.executable, "-m", "flask"]
    current = subprocess.run(
        [*flask, "db", "current"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert current.returncode == 0, current.stderr
    newest = sorted((REPO / "migrations" / "versions").glob("[0-9]*.py"))[-1].name[:4]
    assert f"{newest} (head)" in current.stdout
    history = subprocess.run(
        [*flask, "db", "history"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert "initial schema" in history.stdout
