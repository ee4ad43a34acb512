"""Each dashboard page, rendered with data, as each kind of user sees it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from rq import SimpleWorker, Worker

from bvp.data.models import DataSource
from bvp.data.models.model_selection import store_selection
from bvp.data.utc import utcnow
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.ingestion.load_runs import LoadRun
from bvp.metrics.records import ForecastAccuracy, QueueStats, SensorQuality
from bvp.queues import get_queue
from tests.conftest import change_settings, job_settings
from tests.ui.conftest import LAST_END, RESOLUTION, measure, pv_shape


def figure_of(html: str, chart: str = "sensor-chart") -> dict:
    found = re.search(rf'<script type="application/json" id="{chart}-data">(.*?)</script>', html)
    assert found, f"the page has no {chart}"
    return json.loads(found.group(1))


def traces(html: str) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure_of(html)["data"]}


def window_text(html: str) -> str:
    found = re.search(r'<p class="window">(.*?)\(', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


# --- sensors -------------------------------------------------------------------------


def test_users_see_their_accounts_sensors_with_last_value_and_freshness(signed_in, world):
    page = signed_in("viewer", "south").get("/dashboard/sensors")
    assert page.status_code == 200 and "<title>Sensors · BVP</title>" in page.text
    assert "south PV power" in page.text and "north PV power" not in page.text
    measured = pd.date_range(LAST_END - pd.Timedelta(days=4), LAST_END, freq=RESOLUTION)[:-1]
    value = pv_shape(measured, "Europe/Amsterdam")[-1]
    row = re.search(r"south PV power</a></th>(.*?)</tr>", page.text, re.S).group(1)
    assert f'<td class="number">{value:,.4g}</td>' in row
    assert ">kW<" in row and ">PT15M<" in row
    assert '<time datetime="2016-10-13T13:00:00+02:00">2016-10-13 13:00 UTC+02:00</time>' in row
    assert "stale" in row and " d ago" in row


def test_a_sensor_measured_hours_ago_is_fresh(signed_in, world, database):
    three_hours_ago = pd.Timestamp(utcnow()).floor("15min") - pd.Timedelta(hours=3)
    measure_by_meter(
        database,
        world.sensors["south"],
        three_hours_ago - RESOLUTION,
        three_hours_ago,
        "Europe/Amsterdam",
    )
    page = signed_in("user", "south").get("/dashboard/sensors")
    row = re.search(r"south PV power</a></th>(.*?)</tr>", page.text, re.S).group(1)
    assert '<span class="badge fresh">fresh</span>' in row and "3 h ago" in row


def test_admins_see_every_accounts_sensors(signed_in, world):
    page = signed_in("admin", "north").get("/dashboard/sensors")
    assert "north PV power" in page.text and "south PV power" in page.text
    assert '<th scope="col">Account</th>' in page.text


def test_a_fleet_is_shown_a_page_of_sensors_at_a_time(signed_in, world, monkeypatch):
    monkeypatch.setattr("bvp.ui.sensors.PAGE_SIZE", 1)  # two sensors: two pages
    admin = signed_in("admin", "north")
    first = admin.get("/dashboard/sensors")
    assert "2 sensors (page 1 of 2)" in first.text
    assert "north PV power" in first.text and "south PV power" not in first.text
    assert 'href="/dashboard/sensors?page=2" rel="next"' in first.text
    second = admin.get("/dashboard/sensors?page=2")
    assert "south PV power" in second.text and "north PV power" not in second.text
    assert 'href="/dashboard/sensors?page=1" rel="prev"' in second.text
    assert 'rel="next"' not in second.text
    beyond = admin.get("/dashboard/sensors?page=3")
    assert beyond.status_code == 404 and "pages 1 to 2" in beyond.text


# --- a sensor --------------------------------------------------------------------------


def test_a_sensor_page_charts_measurements_forecasts_and_band_up_to_the_latest_forecast(
    signed_in, world
):
    page = signed_in("viewer").get(f"/dashboard/sensors/{world.sensors['north']}")
    assert page.status_code == 200 and "<title>north PV power · BVP</title>" in page.text
    # Default: the last three days up to the end of the latest forecast (a day ahead).
    assert window_text(page.text) == (
        "From 2016-10-11 05:00 UTC−06:00 to 2016-10-14 05:00 UTC−06:00"
    )
    drawn = traces(page.text)
    assert len(drawn["measured"]["x"]) == 2 * 96
    assert len(drawn["forecast p50"]["x"]) == 96
    assert drawn["forecast p10–p90"]["fill"] == "tonexty"
    assert len(drawn["forecast p10–p90"]["y"]) == len(drawn["forecast p90"]["y"]) == 96
    assert drawn["measured"]["customdata"][0] == "2016-10-11T05:00:00-06:00"
    layout = figure_of(page.text)["layout"]
    assert layout["xaxis"]["title"]["text"] == "time (America/Denver, UTC−06:00)"
    assert "naive-1d</strong> (the default" in page.text


def figcaption(html: str) -> str:
    found = re.search(r"<figcaption>(.*?)</figcaption>", html, re.S)
    assert found, "the chart has no caption"
    return found.group(1)


def picked(html: str) -> dict[str, str | None]:
    """The values the window's date pickers show."""
    values = {}
    for name in ("start", "end"):
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        value = re.search(r'value="([^"]*)"', field)
        values[name] = value.group(1) if value else None
    return values


def test_the_date_pickers_show_the_window_shown_in_local_days(signed_in, world):
    client = signed_in("viewer")
    url = f"/dashboard/sensors/{world.sensors['north']}"
    # The default window, 2016-10-11 05:00 to 2016-10-14 05:00 in Denver, not empty pickers.
    assert picked(client.get(url).text) == {"start": "2016-10-11", "end": "2016-10-14"}
    # A start and a number of days: the last day shown is filled in.
    page = client.get(url, query_string={"start": "2016-10-10", "days": "2"})
    assert window_text(page.text).endswith("to 2016-10-12 00:00 UTC−06:00")
    assert picked(page.text) == {"start": "2016-10-10", "end": "2016-10-11"}
    # Showing what the pickers say shows the same days again.
    again = client.get(url, query_string=picked(page.text))
    assert window_text(again.text) == window_text(page.text)


def test_the_caption_promises_the_band_only_when_the_chart_has_one(signed_in, world):
    client = signed_in("viewer")
    url = f"/dashboard/sensors/{world.sensors['north']}"
    with_band = client.get(url)
    assert "forecast p10–p90" in traces(with_band.text)
    assert "p10–p90 forecast band shaded" in figcaption(with_band.text)
    # Days before the forecast: measurements only, no band and no forecast line.
    measured_only = client.get(url, query_string={"start": "2016-10-10", "end": "2016-10-11"})
    assert set(traces(measured_only.text)) == {"measured"}
    caption = figcaption(measured_only.text)
    assert caption.startswith("Measured north PV power (kW), in America/Denver time.")
    assert "band" not in caption and "forecast" not in caption


def test_a_gap_in_the_measurements_is_a_gap_in_the_chart(signed_in, world, database):
    # Measured again from local midnight after a gap (05:00 to 00:00, Oct 13 to 14).
    measure_by_meter(
        database,
        world.sensors["north"],
        pd.Timestamp("2016-10-14T06:00Z"),
        pd.Timestamp("2016-10-14T12:00Z"),
        "America/Denver",
    )
    page = signed_in("viewer").get(f"/dashboard/sensors/{world.sensors['north']}")
    measured = traces(page.text)["measured"]
    assert measured["connectgaps"] is False
    first_missing = measured["customdata"].index("2016-10-13T05:00:00-06:00")
    back = measured["customdata"].index("2016-10-14T00:00:00-06:00")
    assert measured["y"][first_missing:back] == [None] * (19 * 4)
    assert None not in measured["y"][:first_missing] + measured["y"][back:]


def test_a_sensor_page_shows_the_chosen_model_and_its_backtest_scores(signed_in, world, database):
    scores = {
        "gbm-quantiles": {"mae": 0.5, "mase": 0.9, "bias": 0.1, "pinball": 0.2, "coverage": 0.8},
        "naive-1d": {"mae": 0.6, "mase": 1.1, "bias": 0.0, "pinball": None, "coverage": None},
    }
    with database() as db:
        chosen = datetime(2016, 10, 13, 12, tzinfo=UTC)
        store_selection(db, world.sensors["north"], "gbm-quantiles", 0.9, scores, chosen)
    page = signed_in("viewer").get(f"/dashboard/sensors/{world.sensors['north']}")
    assert "<strong>gbm-quantiles</strong>, chosen" in page.text
    assert "2016-10-13 06:00 UTC−06:00" in page.text and "(MASE 0.9)" in page.text
    rows = re.findall(r'<th scope="row">([\w-]+)', page.text.split("scores-caption")[-1])
    assert rows == ["gbm-quantiles", "naive-1d"]  # best MASE first
    assert "80.0 %" in page.text and "in use" in page.text


def test_a_sensor_page_shows_an_ensembles_members_and_its_calibrated_coverage(
    signed_in, world, database
):
    scores = {
        "ensemble": {"mae": 0.4, "mase": 0.8, "bias": 0.0, "pinball": None, "coverage": None},
        "lightgbm": {"mae": 0.5, "mase": 0.9, "bias": 0.1, "pinball": None, "coverage": None},
    }
    calibration = {"members": ["lightgbm", "mstl-ets"], "offsets": {}, "coverage": 0.812}
    with database() as db:
        chosen = datetime(2016, 10, 13, 12, tzinfo=UTC)
        store_selection(db, world.sensors["north"], "ensemble", 0.8, scores, chosen, calibration)
    page = signed_in("viewer").get(f"/dashboard/sensors/{world.sensors['north']}")
    assert "<strong>ensemble</strong> (the mean of lightgbm, mstl-ets), chosen" in page.text
    assert "81.2 %" in page.text  # the band it forecasts with covered that on the backtest


def test_a_sensor_page_lists_the_stored_fits_forecasts_predict_from(signed_in, world, database):
    from bvp.data.models.trained_models import store_model

    with database() as db:
        store_model(
            db,
            {"lag_days": [1, 7], "features": ["y_lag_1d", "y_lag_7d"], "trees": "tree"},
            sensor_id=world.sensors["north"],
            horizon=timedelta(days=1),
            model="lightgbm",
            members=[],
            version="2",
            features={"lightgbm": ["y_lag_1d", "y_lag_7d"]},
            trained_from=datetime(2015, 10, 13, 6, tzinfo=UTC),
            trained_until=datetime(2016, 10, 13, 6, tzinfo=UTC),
            data_until=datetime(2016, 10, 13, 6, 5, tzinfo=UTC),
            scores={},
            trained_at=datetime(2016, 10, 13, 7, tzinfo=UTC),
            fit_seconds=0.8,
        )
    page = signed_in("viewer").get(f"/dashboard/sensors/{world.sensors['north']}")
    fits = page.text.split('id="fits-caption"')[-1]
    assert "P1D ahead" in fits and "lightgbm v2" in fits
    assert "2015-10-13 00:00 UTC−06:00</time> to <time" in fits  # the training window, local
    assert '<td class="number">2</td>' in fits and '<td class="number">0.8</td>' in fits


@pytest.mark.parametrize(("role", "status"), [("viewer", 404), ("account-admin", 404)])
def test_another_accounts_sensor_is_not_found(signed_in, world, role, status):
    client = signed_in(role, "north")
    page = client.get(f"/dashboard/sensors/{world.sensors['south']}")
    assert page.status_code == status
    assert "There is no sensor" in page.text and page.mimetype == "text/html"
    assert client.get("/dashboard/sensors/9999").status_code == 404
    admin = signed_in("admin", "north")
    assert admin.get(f"/dashboard/sensors/{world.sensors['south']}").status_code == 200


def test_the_window_is_chosen_in_local_days(signed_in, world):
    client = signed_in("user")
    url = f"/dashboard/sensors/{world.sensors['north']}"
    page = client.get(url, query_string={"start": "2016-10-10", "end": "2016-10-11"})
    assert window_text(page.text) == (
        "From 2016-10-10 00:00 UTC−06:00 to 2016-10-12 00:00 UTC−06:00"
    )
    assert len(traces(page.text)["measured"]["x"]) == 2 * 96
    page = client.get(url, query_string={"end": "2016-10-12", "days": "1"})
    assert window_text(page.text) == (
        "From 2016-10-12 00:00 UTC−06:00 to 2016-10-13 00:00 UTC−06:00"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"days": "0"}, "Number must be between 1 and 92."),
        ({"start": "2016-10-12", "end": "2016-10-10"}, "must not be before the start"),
        ({"start": "2016-01-01", "end": "2016-10-10"}, "at most 92 days"),
        ({"start": "yesterday"}, "Not a valid date value."),
    ],
)
def test_a_bad_window_is_explained_next_to_its_field(signed_in, world, query, message):
    page = signed_in("user").get(f"/dashboard/sensors/{world.sensors['north']}", query_string=query)
    assert page.status_code == 400
    assert message in page.text and 'aria-invalid="true"' in page.text


def test_a_window_across_the_dst_change_shows_each_local_hour_once(signed_in, world, database):
    measure_by_meter(
        database,
        world.sensors["north"],
        pd.Timestamp("2016-11-05T06:00Z"),
        pd.Timestamp("2016-11-08T07:00Z"),
        "America/Denver",
    )
    page = signed_in("user").get(
        f"/dashboard/sensors/{world.sensors['north']}",
        query_string={"start": "2016-11-05", "end": "2016-11-07"},
    )
    assert window_text(page.text) == (
        "From 2016-11-05 00:00 UTC−06:00 to 2016-11-08 00:00 UTC−07:00"
    )
    measured = traces(page.text)["measured"]
    assert len(measured["x"]) == 73 * 4 and len(set(measured["x"])) == 73 * 4
    assert {"2016-11-06T01:30:00-06:00", "2016-11-06T01:30:00-07:00"} <= set(measured["customdata"])
    assert "clocks UTC−06:00 → UTC−07:00" in json.dumps(figure_of(page.text), ensure_ascii=False)


def test_an_empty_window_says_so_instead_of_an_empty_chart(signed_in, world):
    page = signed_in("user").get(
        f"/dashboard/sensors/{world.sensors['north']}", query_string={"start": "2017-01-01"}
    )
    assert page.status_code == 200
    assert "There are no measurements or forecasts in this window." in page.text
    assert "sensor-chart-data" not in page.text and "plotly" not in page.text


# --- jobs ------------------------------------------------------------------------------


@pytest.fixture
def failed_jobs(app, world, redis):
    """A failed job for each account's sensor, and a worker alive."""
    origin = LAST_END.to_pydatetime()
    for sensor_id in world.sensors.values():
        create_forecasting_jobs(
            redis,
            job_settings(retries=0),
            [sensor_id],
            origin,
            [timedelta(hours=1)],
            model="no-such-model",
        )
    SimpleWorker(["forecasting"], connection=redis).work(burst=True)
    Worker(["forecasting"], connection=redis, name="ui-test-worker").register_birth()
    return {
        name: f"forecast-s{sensor}-h3600-o20161013T110000Z"
        for name, sensor in world.sensors.items()
    }


def test_the_jobs_page_shows_queues_workers_and_the_users_failures(signed_in, failed_jobs):
    page = signed_in("viewer", "north").get("/dashboard/jobs")
    assert page.status_code == 200 and "<title>Jobs · BVP</title>" in page.text
    forecasting = re.search(r'<th scope="row">forecasting</th>(.*?)</tr>', page.text, re.S)
    assert [int(n) for n in re.findall(r">(\d+)<", forecasting.group(1))] == [0, 0, 0, 2, 0]
    assert "Workers alive: 1" in page.text and "ui-test-worker" in page.text
    assert failed_jobs["north"] in page.text and failed_jobs["south"] not in page.text
    assert "KeyError: &#39;no-such-model&#39;" in page.text
    assert 'href="/rq/"' not in page.text


def test_admins_see_every_failure_and_the_link_to_rq(signed_in, failed_jobs):
    page = signed_in("admin", "north").get("/dashboard/jobs")
    assert failed_jobs["north"] in page.text and failed_jobs["south"] in page.text
    assert 'href="/rq/"' in page.text


def test_the_jobs_page_warns_of_jobs_that_no_worker_serves(signed_in, failed_jobs, redis):
    origin = LAST_END.to_pydatetime() + timedelta(hours=1)
    create_forecasting_jobs(
        redis, job_settings(), [1], origin, [timedelta(hours=1)]
    )  # forecasting: served
    get_queue(redis, "model-selection").enqueue("time.sleep", 0)  # nobody listens there
    page = signed_in("viewer", "north").get("/dashboard/jobs")
    alerts = re.findall(r'<p class="message error" role="alert">(.*?)</p>', page.text, re.S)
    assert len(alerts) == 1
    assert "1 jobs wait on the <strong>model-selection</strong> queue" in alerts[0]
    assert "flask run_forecasting_worker" in alerts[0]


def test_the_jobs_page_says_when_redis_cannot_be_reached(app, signed_in, monkeypatch):
    client = signed_in("admin")
    change_settings(monkeypatch, app, REDIS_URL="redis://127.0.0.1:1/0")
    page = client.get("/dashboard/jobs")
    assert page.status_code == 200
    assert "Redis cannot be reached" in page.text


# --- ingestion -------------------------------------------------------------------------

MANIFEST = """
sensors:
  north_load: {account: north, asset: north site, name: load, unit: kW, resolution: PT15M}
  south_load: {account: south, asset: south site, name: load, unit: kW, resolution: PT15M}
sources:
"""
SOURCE = """
  - id: {name}_meter
    title: {title}
    description: Files the site's meter exports.
    tags: [core_data]
    publication_schedule: daily
    importers:
      - name: csv
        files: '\\.csv$'
        options: {{timestamp_column: time, columns: {{kw: {{sensor: {name}_load, unit: kW}}}}}}
"""


@pytest.fixture
def manifest(app, tmp_path, monkeypatch):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        MANIFEST
        + SOURCE.format(name="north", title="North meter exports")
        + SOURCE.format(name="south", title="South meter exports")
    )
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(path))
    return path


def test_the_ingestion_page_shows_sources_lag_and_runs(signed_in, world, database):
    with database() as db:
        db.add(
            LoadRun(
                source_id="wholesale_prices",
                command="run",
                status="failed",
                error="wholesale_prices: HTTP 503 from the index",
            )
        )
    page = signed_in("admin").get("/dashboard/ingestion")
    assert page.status_code == 200 and "<title>Ingestion · BVP</title>" in page.text
    for title in ("Day-ahead prices, Golden node", "SERF office building, back-filled history"):
        assert title in page.text
    assert "never imported" in page.text and "no schedule" in page.text
    assert "HTTP 503 from the index" in page.text


def test_users_see_the_sources_that_import_into_their_account(signed_in, world, manifest, database):
    with database() as db:
        db.add_all(
            [
                LoadRun(source_id="north_meter", command="run", status="succeeded"),
                LoadRun(
                    source_id="south_meter", command="run", status="failed", error="south only"
                ),
            ]
        )
    page = signed_in("viewer", "north").get("/dashboard/ingestion")
    assert "North meter exports" in page.text and "South meter exports" not in page.text
    assert "north_meter" in page.text and "south only" not in page.text
    admin = signed_in("admin", "north").get("/dashboard/ingestion")
    assert "North meter exports" in admin.text and "South meter exports" in admin.text


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot be read"), ("sources: [", "is not valid YAML/JSON")],
)
def test_a_manifest_that_cannot_be_used_is_a_message(
    app, signed_in, tmp_path, monkeypatch, content, problem
):
    path = tmp_path / "manifest.yaml"
    if content is not None:
        path.write_text(content)
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(path))
    page = signed_in("viewer").get("/dashboard/ingestion")
    assert page.status_code == 200
    assert "cannot be used" in page.text and problem in page.text


# --- metrics ---------------------------------------------------------------------------


@pytest.fixture
def monthly(world, database):
    """Metrics of January and February 2024 for both accounts' sensors, and a queue."""
    with database() as db:
        for month, mase in (("2024-01", 0.9), ("2024-02", 0.8)):
            start = datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
            for name, sensor_id in world.sensors.items():
                account = world.accounts[name]
                db.add(
                    SensorQuality(
                        month=month,
                        sensor_id=sensor_id,
                        account_id=account,
                        timezone="UTC",
                        month_start=start,
                        month_end=start + timedelta(days=28),
                        expected=2976,
                        received=2970,
                        completeness=99.8,
                        gaps=1,
                        longest_gap_seconds=5400,
                        revisions=3,
                        late_p50_seconds=300,
                        late_p95_seconds=4000,
                    )
                )
                db.add(
                    ForecastAccuracy(
                        month=month,
                        sensor_id=sensor_id,
                        model="gbm-quantiles",
                        horizon_seconds=86400,
                        account_id=account,
                        forecasts=2900,
                        mae=0.4,
                        mase=mase,
                        bias=-0.05,
                        pinball=0.1,
                        coverage=0.79,
                    )
                )
            db.add(
                QueueStats(
                    month=month,
                    queue="forecasting",
                    finished=1200,
                    failed=4,
                    retries=6,
                    wait_p50_seconds=2,
                    wait_p95_seconds=30,
                    run_p50_seconds=4,
                    run_p95_seconds=50,
                )
            )


def test_the_metrics_page_shows_the_newest_month_and_accuracy_over_months(signed_in, monthly):
    page = signed_in("viewer", "north").get("/dashboard/metrics")
    assert page.status_code == 200 and "<title>Metrics 2024-02 · BVP</title>" in page.text
    assert "north PV power" in page.text and "south PV power" not in page.text
    assert "99.8 %" in page.text and "PT1H30M" in page.text and "79.0 %" in page.text
    assert "1,200" in page.text and "66.7 min" in page.text
    (line,) = figure_of(page.text, "accuracy-chart")["data"]
    assert line["name"] == "north PV power · P1D · gbm-quantiles"
    assert line["x"] == ["2024-01", "2024-02"] and line["y"] == [0.9, 0.8]


def test_an_earlier_month_can_be_chosen_and_an_unknown_one_is_not_found(signed_in, monthly):
    client = signed_in("admin")
    page = client.get("/dashboard/metrics", query_string={"month": "2024-01"})
    assert "<h1>Monthly metrics: 2024-01</h1>" in page.text
    assert "north PV power" in page.text and "south PV power" in page.text
    assert '<option selected value="2024-01">' in page.text
    missing = client.get("/dashboard/metrics", query_string={"month": "2099-01"})
    assert missing.status_code == 404 and "There are no metrics for 2099-01" in missing.text


def test_without_metrics_the_page_says_how_to_make_them(signed_in, world):
    page = signed_in("viewer").get("/dashboard/metrics")
    assert page.status_code == 200 and "flask metrics monthly" in page.text


def measure_by_meter(database, sensor_id: int, start, end, timezone: str) -> None:
    """Measurements from the world's meter over [start, end)."""
    with database() as db:
        meter = db.query(DataSource).filter_by(name="meter").one()
        measure(db, sensor_id, meter.id, start, end, timezone)
