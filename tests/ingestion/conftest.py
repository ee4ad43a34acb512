"""Ingestion tests run the example manifest against a real local HTTP server that plays
the external sources (``ingestion/fixture_server.py``), on copies of the fixture files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bvp.data.models import Account, Sensor, TimedBelief
from ingestion.fixture_server import FixtureServer

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MANIFEST = REPO / "ingestion" / "manifest.example.yaml"
FIXTURES = REPO / "ingestion" / "fixtures"


@pytest.fixture
def fixture_root(tmp_path) -> Path:
    root = tmp_path / "sources"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return root


@pytest.fixture
def server(fixture_root):
    with FixtureServer(fixture_root) as running:
        yield running


@pytest.fixture
def ingest(app, db, redis, server, fixture_root, tmp_path, monkeypatch):
    """The example manifest wired to the fixture server, a temporary raw store and the
    demo account; returns a function running `flask ingest ...` that gives the result."""
    monkeypatch.setenv("BVP_INGEST_FIXTURES_URL", server.url)
    monkeypatch.setenv("BVP_INGEST_DROP_FOLDER", str(fixture_root / "meter_exports"))
    settings = {
        "INGEST_MANIFEST": str(EXAMPLE_MANIFEST),
        "INGEST_STORE_URL": str(tmp_path / "raw"),
        "INGEST_WEBHOOK_URL": f"{server.url}/hooks/T0SECRET/B0SECRET",
        "INGEST_SMOKETESTS": str(tmp_path / "smoketests.yaml"),
        "INGEST_HTTP_ATTEMPTS": 3,
        "INGEST_HTTP_BACKOFF_SECONDS": 0.01,
        "FORECAST_HORIZONS": "PT1H",
    }
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    db.add(Account(name="Demo account", timezone="America/Denver"))
    db.commit()

    def run(*args: str, input: str | None = None):
        return app.test_cli_runner().invoke(args=["ingest", *args], input=input)

    return run


def beliefs_per_sensor(db) -> dict[str, int]:
    """Sensor name -> number of beliefs stored."""
    db.expire_all()
    rows = db.execute(
        select(Sensor.name, func.count(TimedBelief.event_start))
        .join(TimedBelief, TimedBelief.sensor_id == Sensor.id)
        .group_by(Sensor.name)
    )
    return dict(rows.all())


def file_requests(server, prefix: str = "/prices/files/") -> list[str]:
    """The files downloaded (GET; HEAD requests only ask for versions)."""
    return [
        path for method, path, _ in server.requests if method == "GET" and path.startswith(prefix)
    ]
