"""The dashboard in real headless Chromium (Debian's), served for real, on the real sample
data with forecasts and monthly metrics.

Chromium missing is a failure, never a skip: CI installs it (`.ci/run`). Every page is
saved as a full-page screenshot in ci-output/screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from playwright.sync_api import Page, sync_playwright
from rq import SimpleWorker, Worker
from sqlalchemy import text
from werkzeug.serving import make_server

from bvp.data.db import Base, Session, get_engine
from bvp.data.models import Account, Asset, Sensor, User
from bvp.data.models.accounts import ensure_roles, find_user_by_email
from bvp.data.models.model_selection import store_selection
from bvp.data.populate import populate_sample_data, populate_structure
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.forecasting.pipeline import latest_origin, make_forecast
from bvp.metrics.monthly import make_monthly_metrics
from bvp.queues import redis_connection
from tests.conftest import job_settings
from tests.ui.conftest import PASSWORD, PASSWORD_HASH

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "ci-output" / "screenshots"
README_SCREENSHOT = REPO / "docs" / "screenshots" / "sensor-page.png"
ADMIN = "admin@bvp.example"
VIEWER = "viewer@bvp.example"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 40[34]\b")
NARROW = {"width": 375, "height": 812}
WIDE = {"width": 1280, "height": 900}
HORIZONS = [timedelta(hours=1), timedelta(hours=6), timedelta(days=1)]
# Backtest scores like those the README reports for the sample PV sensor.
PV_SCORES = {
    "lightgbm": {"mae": 0.401, "mase": 0.93, "bias": -0.03, "pinball": None, "coverage": 0.8},
    "naive-1d": {"mae": 0.42, "mase": 0.966, "bias": 0.0, "pinball": None, "coverage": None},
    "naive-7d": {"mae": 0.44, "mase": 1.008, "bias": 0.01, "pinball": None, "coverage": None},
    "ridge": {"mae": 0.5, "mase": 1.141, "bias": 0.03, "pinball": None, "coverage": None},
}


@pytest.fixture(scope="module")
def sample(app):
    """The demo structure and real sample data; day-ahead naive forecasts from every local
    midnight since August and a quantile forecast from the latest origin (PV sensor); its
    chosen model; monthly metrics of August and September 2016; a failed job and a worker.
    A viewer in the demo account, and another account the demo users must not see."""
    with app.app_context():
        session = Session()
        sensors = populate_structure(session, ADMIN, PASSWORD).sensors
        populate_sample_data(session, sensors)
        viewer_role = next(r for r in ensure_roles(session) if r.name == "viewer")
        demo = find_user_by_email(session, ADMIN).account
        session.add(
            User(email=VIEWER, password_hash=PASSWORD_HASH, account=demo, roles=[viewer_role])
        )
        elsewhere = Sensor(
            name="Elsewhere power",
            unit="kW",
            event_resolution=timedelta(minutes=15),
            asset=Asset(name="Elsewhere PV", asset_type="pv", account=Account(name="Elsewhere")),
        )
        session.add(elsewhere)
        pv = sensors["pv_power"]
        origin = latest_origin(session, pv)
        for day in pd.date_range("2016-08-01", origin.date(), freq="D", tz="America/Denver"):
            make_forecast(session, pv, day.tz_convert("UTC"), timedelta(days=1), model="naive-1d")
        # chosen as the demo chooses it; its band calibrated (offsets in units of the PV's
        # recent day-on-day change), so the forecast from the origin has p10 and p90
        band = {"members": [], "offsets": {"0.1": [-1.0] * 24, "0.9": [1.0] * 24}}
        store_selection(session, pv, "lightgbm", 0.93, PV_SCORES, origin, band | {"coverage": 0.8})
        make_forecast(session, pv, origin, timedelta(days=1))
        for anchor in ("2016-09-05T00:00:00+00:00", "2016-10-05T00:00:00+00:00"):
            make_monthly_metrics(session, datetime.fromisoformat(anchor), HORIZONS)
        session.commit()
        ids = {"pv": pv, "elsewhere": elsewhere.id}
        Session.remove()
    redis = redis_connection(app.config["REDIS_URL"])
    redis.flushdb()
    # A job that fails (there is no such model), run here; and a worker that stays alive.
    create_forecasting_jobs(
        redis, job_settings(retries=0), [pv], origin, HORIZONS[:1], model="no-such-model"
    )
    SimpleWorker(["forecasting"], connection=redis).work(burst=True)
    worker = Worker(["forecasting"], connection=redis, name="browser-test-worker")
    worker.register_birth()
    worker.set_state("idle")
    yield ids
    redis.flushdb()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine().begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def server(app, sample):
    """The app served for real on a free port of 127.0.0.1, in a thread."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(apt-get install -y chromium; .ci/run installs it when missing).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A browser tab that notes console errors, page errors and every URL it asks for."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.go("/dashboard/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/dashboard/sensors")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def wait_for_chart(self, chart_id: str) -> list[dict]:
        """The traces plotly drew into the chart: name, fill, number of points and of
        values, and the first point's hover text."""
        self.page.wait_for_function(
            f"() => document.getElementById('{chart_id}')?._fullLayout !== undefined"
        )
        return self.page.evaluate(
            f"""() => document.getElementById('{chart_id}').data.map(t => ({{
                name: t.name, fill: t.fill || null, points: t.x.length,
                values: Array.from(t.y).filter(v => v !== null && !Number.isNaN(v)).length,
                firstHover: t.customdata ? String(t.customdata[0]) : null,
            }}))"""
        )

    def assert_clean(self, refusals_expected: bool = False) -> None:
        """No console or page errors (except refused pages when expected) and no request
        left this machine."""
        errors = self.errors
        if refusals_expected:
            errors = [e for e in errors if not REFUSED.match(e)]
        assert errors == [], "\n".join(errors)
        outside = [u for u in self.requests if not _local(u)]
        assert outside == [], f"requests left localhost: {outside}"


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or parts.hostname in LOCAL_HOSTS


@pytest.fixture
def visit(browser, server):
    """visit(viewport) -> a fresh browser context (no cookies) with one watched tab."""
    contexts = []

    def open_tab(viewport=WIDE) -> Visit:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        tab = Visit(page, server)
        page.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
        page.on("pageerror", lambda e: tab.errors.append(f"page error: {e}"))
        page.on("request", lambda r: tab.requests.append(r.url))
        return tab

    yield open_tab
    for context in contexts:
        context.close()


def test_sign_in_and_the_sensor_chart_shows_measurements_forecasts_and_band(visit, sample):
    tab = visit()
    tab.sign_in(ADMIN)
    tab.page.get_by_role("link", name="AC power").click()
    traces = {t["name"]: t for t in tab.wait_for_chart("sensor-chart")}

    assert set(traces) == {"measured", "forecast p50", "forecast p90", "forecast p10–p90"}
    for trace in traces.values():
        assert trace["points"] > 0 and trace["values"] == trace["points"], trace
    assert traces["measured"]["points"] == 2 * 96  # the window reaches a day past the data
    assert traces["forecast p10–p90"]["fill"] == "tonexty"  # the band: shaded up to p90
    assert traces["forecast p10–p90"]["points"] == 96  # the day-ahead quantile forecast
    axis = tab.page.evaluate(
        "() => document.getElementById('sensor-chart').layout.xaxis.title.text"
    )
    assert axis == "time (America/Denver, UTC−06:00)"
    assert traces["measured"]["firstHover"] == "2016-10-11T05:00:00-06:00"
    assert tab.page.get_by_text("lightgbm, chosen").is_visible()
    path = tab.screenshot("sensor")
    if os.environ.get("BVP_UPDATE_README_SCREENSHOT"):
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT)
    tab.assert_clean()


def test_the_date_pickers_show_the_window_on_the_chart_and_choose_another(visit, sample):
    tab = visit()
    tab.sign_in(ADMIN)
    tab.page.get_by_role("link", name="AC power").click()
    tab.wait_for_chart("sensor-chart")
    start, end = tab.page.get_by_label("From (local date)"), tab.page.get_by_label("To (local")
    # The chart's default window, 2016-10-11 05:00 to 2016-10-14 05:00 in Denver.
    assert (start.input_value(), end.input_value()) == ("2016-10-11", "2016-10-14")
    start.fill("2016-10-01")
    end.fill("2016-10-02")
    tab.page.get_by_role("button", name="Show").click()
    tab.page.wait_for_url("**start=2016-10-01**")
    traces = {t["name"]: t for t in tab.wait_for_chart("sensor-chart")}
    assert traces["measured"]["points"] == 2 * 96
    assert traces["measured"]["firstHover"] == "2016-10-01T00:00:00-06:00"
    assert (start.input_value(), end.input_value()) == ("2016-10-01", "2016-10-02")
    # The days field alone moves the window back from its end; the pickers follow it.
    tab.page.get_by_label("Days").fill("5")
    start.fill("")
    tab.page.get_by_role("button", name="Show").click()
    tab.page.wait_for_url("**days=5**")
    tab.wait_for_chart("sensor-chart")
    assert (start.input_value(), end.input_value()) == ("2016-09-28", "2016-10-02")
    tab.assert_clean()


def test_every_page_renders_without_console_errors_or_requests_leaving_localhost(visit, sample):
    tab = visit()
    tab.go("/dashboard/login")
    tab.screenshot("login")
    tab.sign_in(ADMIN)
    pages = {
        "sensors": ("Sensors", ["Global horizontal irradiance", "Elsewhere power"]),
        "jobs": ("Jobs", ["KeyError: 'no-such-model'", "browser-test-worker"]),
        "ingestion": ("Ingestion", ["Day-ahead prices, Golden node"]),
        "metrics": ("Monthly metrics: 2016-09", ["Forecast accuracy", "Data quality"]),
    }
    for name, (heading, contents) in pages.items():
        response = tab.go(f"/dashboard/{name}")
        assert response.status == 200
        assert tab.page.title() == f"{heading} · BVP".replace("Monthly metrics: ", "Metrics ")
        assert tab.page.get_by_role("heading", level=1).inner_text() == heading
        for content in contents:
            assert tab.page.get_by_text(content).first.is_visible(), content
        if name == "metrics":
            lines = tab.wait_for_chart("accuracy-chart")
            assert lines and all(line["values"] > 0 for line in lines)
            assert {line["points"] for line in lines} <= {1, 2}  # August and September
        tab.screenshot(name)
    tab.assert_clean()


def test_the_api_docs_render_offline_from_the_installed_package(visit, sample):
    """Swagger UI's code comes from the swagger-ui-bundle package, served by BVP: the docs
    page asks no other host for anything and lists the API's operations."""
    tab = visit()
    response = tab.go("/api/v1/docs")
    assert response.status == 200
    tab.page.get_by_text("/api/v1/sensors/{sensor_id}/data").first.wait_for()
    assert tab.page.locator(".opblock").count() > 20  # every operation, one block each
    assert any(url.endswith("/api/v1/docs/assets/swagger-ui-bundle.js") for url in tab.requests)
    tab.screenshot("api-docs")
    tab.assert_clean()


def test_a_viewer_sees_no_admin_links_and_is_refused_admin_pages(visit, sample):
    viewer = visit()
    viewer.sign_in(VIEWER)
    assert viewer.page.locator("a[href^='/rq']").count() == 0
    assert viewer.page.get_by_role("link", name="Job queues (rq, admins)").count() == 0
    for admin_page in ("/rq/", "/rq/0/data/queues.json"):
        refused = viewer.go(admin_page)
        assert refused.status == 403
        assert "admins only" in viewer.page.content()
    assert viewer.go(f"/dashboard/sensors/{sample['elsewhere']}").status == 404
    viewer.go("/dashboard/jobs")
    assert viewer.page.locator("a[href^='/rq']").count() == 0

    admin = visit()
    admin.sign_in(ADMIN)
    admin.page.get_by_role("link", name="Job queues (rq, admins)").click()
    admin.page.wait_for_url("**/rq/")
    # rq-dashboard lists the queues from a JSON request its page makes after loading.
    admin.page.wait_for_function("document.body.innerText.includes('forecasting')")
    viewer.assert_clean(refusals_expected=True)  # the refused pages themselves
    admin.assert_clean(refusals_expected=True)  # rq-dashboard asks for a /static/favicon.ico


@pytest.mark.parametrize("name", ["sensors", "sensor", "jobs", "ingestion", "metrics"])
def test_pages_fit_a_narrow_phone_screen(visit, sample, name):
    tab = visit(NARROW)
    tab.sign_in(ADMIN)
    path = f"/dashboard/sensors/{sample['pv']}" if name == "sensor" else f"/dashboard/{name}"
    tab.go(path)
    if name in ("sensor", "metrics"):
        tab.wait_for_chart("sensor-chart" if name == "sensor" else "accuracy-chart")
    overflow = tab.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(overflow[:2]) <= overflow[2], f"the page scrolls sideways: {overflow}"
    tab.screenshot(f"{name}-narrow")
    tab.assert_clean()


def test_keyboard_alone_skips_to_the_content_and_follows_the_navigation(visit, sample):
    tab = visit()
    tab.sign_in(ADMIN)
    keyboard = tab.page.keyboard
    keyboard.press("Tab")
    assert tab.page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    keyboard.press("Enter")
    assert tab.page.evaluate("() => document.activeElement.id") == "main"
    tab.page.locator("a.brand").focus()
    keyboard.press("Tab")  # Sensors
    keyboard.press("Tab")  # Jobs
    keyboard.press("Enter")
    tab.page.wait_for_url("**/dashboard/jobs")
    tab.assert_clean()


def test_csv_upload_from_the_sensor_page_stores_nothing_from_a_bad_file(visit, sample):
    """Last in this module: it adds a measurement to the sample data."""
    tab = visit()
    tab.sign_in(ADMIN)
    tab.go(f"/dashboard/sensors/{sample['pv']}")

    def beliefs() -> int:
        with get_engine().connect() as connection:
            return connection.execute(text("SELECT count(*) FROM timed_belief")).scalar_one()

    def upload(name: str, content: str) -> None:
        files = [{"name": name, "mimeType": "text/csv", "buffer": content.encode()}]
        tab.page.get_by_label("CSV file").set_input_files(files)
        tab.page.get_by_role("button", name="Upload").click()
        tab.page.wait_for_load_state()

    before = beliefs()
    header = "event_start,value [kW]\n"
    upload("bad.csv", header + "2016-10-14T00:00:00-06:00,1.5\n2016-10-14T00:15:00,2\n")
    error = tab.page.locator(".message.error")
    assert "Nothing stored from bad.csv: line 3, column 'event_start'" in error.inner_text()
    assert "has no UTC offset" in error.inner_text()
    assert beliefs() == before
    upload("good.csv", header + "2016-10-14T00:00:00-06:00,1.5\n")
    assert "good.csv: 1 lines, 1 values new" in tab.page.locator(".message.info").inner_text()
    assert beliefs() == before + 1
    # the forecasting jobs the upload queued, followed on the page (no worker runs them here)
    status = tab.page.locator("#jobs .job-status").first
    assert status.inner_text() == "queued"
    tab.page.get_by_role("button", name="Choose model").click()
    tab.page.wait_for_url("**#jobs")
    assert f"select-model-s{sample['pv']}" in tab.page.locator("#jobs").inner_text()
    tab.screenshot("sensor-actions")
    tab.assert_clean()
