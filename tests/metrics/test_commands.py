"""`flask metrics monthly` and GET /api/v1/metrics/monthly."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from tests.api.conftest import as_, world  # noqa: F401 - fixtures
from tests.metrics.conftest import store


@pytest.fixture
def measured(db, world):  # noqa: F811
    """Two days of February 2024 for north's and south's sensors (of 29 days)."""
    from bvp.data.models import DataSource, Sensor

    meter = DataSource(name="meter", type="user")
    db.add(meter)
    db.commit()
    events = pd.date_range("2024-02-10T00:00Z", periods=2 * 96, freq="15min")
    for account in ("north", "south"):
        sensor = db.get(Sensor, world[account]["sensor"])
        store(db, sensor, meter, events, range(len(events)), events + timedelta(minutes=15))
    return world


def run(app, *args):
    return app.test_cli_runner().invoke(args=["metrics", "monthly", *args])


def test_monthly_command_stores_and_writes_the_report(app, measured, tmp_path):
    result = run(app, "--date-anchor", "2024-03-05T10:00+01:00", "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "metrics for 2024-02" in result.output
    quality = pd.read_csv(tmp_path / "2024-02_quality.csv")
    assert len(quality) == 4  # every sensor of both accounts, measured or not
    quality = quality[quality["sensor"] == "power"]
    # February in UTC (the accounts' zone): 29 days of quarter-hours, 192 received.
    assert set(quality["expected"]) == {29 * 96} and set(quality["received"]) == {192}
    assert set(quality["gaps"]) == {2}  # before and after the two days
    for fmt in ("json", "parquet"):
        assert (
            run(
                app,
                "--date-anchor",
                "2024-03-05T10:00+01:00",
                "--output",
                str(tmp_path),
                "--format",
                fmt,
            ).exit_code
            == 0
        )
    assert len(json.loads((tmp_path / "2024-02_quality.json").read_text())) == 4
    assert len(pd.read_parquet(tmp_path / "2024-02_accuracy.parquet", engine="pyarrow")) == 0


def test_the_anchor_comes_from_config_and_naive_ones_are_refused(app, measured, monkeypatch):
    monkeypatch.setitem(app.config, "DATE_ANCHOR", "2024-03-05T10:00+01:00")
    assert "metrics for 2024-02" in run(app).output
    refused = run(app, "--date-anchor", "2024-03-05T10:00")
    assert refused.exit_code == 2
    assert "no UTC offset" in refused.output


def test_api_serves_an_accounts_own_month(app, measured, as_):  # noqa: F811
    run(app, "--date-anchor", "2024-03-05T10:00+01:00")
    north = as_("viewer", "north").get("/api/v1/metrics/monthly?month=2024-02")
    assert north.status_code == 200, north.json
    rows = {row["sensor_id"]: row for row in north.json["quality"]}
    assert measured["north"]["sensor"] in rows and measured["south"]["sensor"] not in rows
    power = rows[measured["north"]["sensor"]]
    from bvp.metrics.reports import COLUMNS

    assert list(power) == COLUMNS["quality"]
    assert power["completeness"] == pytest.approx(100 * 192 / (29 * 96), abs=1e-3)
    assert power["longest_gap"] == "P18D"  # Feb 12 .. Mar 1 (these accounts keep UTC)
    admin = as_("admin", "north").get("/api/v1/metrics/monthly?month=2024-02")
    assert len(admin.json["quality"]) == 4


def test_api_refuses_bad_months_and_says_when_none_are_stored(app, measured, as_):  # noqa: F811
    caller = as_("user", "north")
    bad = caller.get("/api/v1/metrics/monthly?month=2024-13")
    assert bad.status_code == 422
    assert "month" in bad.json["errors"], bad.json
    missing = caller.get("/api/v1/metrics/monthly?month=2023-01")
    assert missing.status_code == 404
    assert "flask metrics monthly" in missing.json["message"]


def test_report_files_have_headers_even_when_a_kind_is_empty(app, measured, tmp_path):
    from bvp.metrics.reports import COLUMNS

    run(app, "--date-anchor", "2024-03-05T10:00+01:00", "--output", str(tmp_path))
    for kind, columns in COLUMNS.items():
        assert list(pd.read_csv(tmp_path / f"2024-02_{kind}.csv").columns) == columns


def test_csv_reports_defuse_formulas_in_names(app, db, measured, tmp_path):
    from bvp.data.models import Sensor

    sensor = db.get(Sensor, measured["north"]["sensor"])
    sensor.name = '=HYPERLINK("http://evil.example","power")'
    db.commit()
    run(app, "--date-anchor", "2024-03-05T10:00+01:00", "--output", str(tmp_path))
    names = set(pd.read_csv(tmp_path / "2024-02_quality.csv")["sensor"])
    assert '\'=HYPERLINK("http://evil.example","power")' in names
    assert not any(name.startswith("=") for name in names)
