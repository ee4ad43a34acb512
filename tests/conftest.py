"""Tests run against real PostgreSQL and real Redis.

The database (BVP_TEST_DATABASE_URL, default the local `test` database) gets a
non-UTC server default time zone on purpose, its schema is built from the alembic
migrations, and every test starts from empty tables. Redis (BVP_TEST_REDIS_URL,
default db 15) is flushed around each test that asks for it.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from flask_migrate import upgrade
from sqlalchemy import make_url, text

os.environ["BVP_ENV"] = "testing"

from bvp.app import create_app
from bvp.config import EXTENSION, app_settings, load_settings
from bvp.data.db import Base, Session, get_engine
from bvp.queues import redis_connection

# Not UTC, not a whole hour, and with DST: any reliance on the server's zone shows.
SERVER_TIME_ZONE = "Pacific/Chatham"


def psycopg2_dsn(url: str) -> str:
    """A libpq connection string for a raw (non-SQLAlchemy) connection."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _own_servers_per_xdist_worker() -> None:
    """Under ``pytest -n N`` each worker gets a database and a Redis db of its own: the
    first keeps the configured ones, worker ``gwK`` the database ``<name>_gwK`` (made
    here if missing) and the Redis db K below the configured one. Set in the environment,
    so the workers, servers and commands a test starts use them too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw"))
    if index == 0 or os.environ.get("BVP_TEST_SERVERS_OF") == worker:
        return  # the first worker; or a pytest a test started, which inherits its servers
    database = make_url(
        os.environ.get("BVP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    own = database.set(database=f"{database.database}_{worker}")
    raw = psycopg2.connect(psycopg2_dsn(database.render_as_string(hide_password=False)))
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (own.database,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{own.database}"')
    raw.close()
    redis = make_url(os.environ.get("BVP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    redis_db = (int(redis.database or 0) - index) % 16
    os.environ["BVP_TEST_SERVERS_OF"] = worker
    os.environ["BVP_TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    os.environ["BVP_TEST_REDIS_URL"] = redis.set(database=str(redis_db)).render_as_string(
        hide_password=False
    )


_own_servers_per_xdist_worker()


def job_settings(**changes):
    """The testing configuration's job settings (BVP_TEST_REDIS_URL, the default
    horizons, retries...), with ``changes``: what the test app's callers read."""
    return load_settings("testing").jobs.model_copy(update=changes)


def change_settings(monkeypatch, app, **values) -> None:
    """Run ``app`` with these settings changed, built and checked as at start, until the
    test ends (the typed settings callers read, and app.config alike)."""
    settings = app_settings(app)
    changed = dataclasses.replace(settings, values={**settings.values, **values})
    monkeypatch.setitem(app.extensions, EXTENSION, changed)
    for name, value in values.items():
        monkeypatch.setitem(app.config, name, value)


@pytest.fixture(scope="session")
def app():
    app = create_app("testing")
    url = app.config["DATABASE_URL"]
    raw = psycopg2.connect(psycopg2_dsn(url))
    raw.autocommit = True
    with raw.cursor() as cursor:
        database = make_url(url).database
        cursor.execute(f'ALTER DATABASE "{database}" SET timezone TO %s', (SERVER_TIME_ZONE,))
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    raw.close()
    get_engine().dispose()  # connections made from now on see the new server default
    with app.app_context():
        upgrade()
    yield app
    Session.remove()


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Each test starts with unused rate limits (counted in memory in testing)."""
    from bvp.limits import limiter

    yield
    if getattr(limiter, "_storage", None) is not None:  # only once an app initialised it
        limiter.reset()


@pytest.fixture
def db(app):
    """An app context and the session; all tables emptied afterwards."""
    with app.app_context():
        session = Session()
        yield session
    session.close()  # the test may hold it after the registry moved on
    Session.remove()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine().begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail, never hang
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def redis(app):
    connection = redis_connection(app.config["REDIS_URL"])
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def sensor(db):
    """One 15-minute kW sensor on an Amsterdam asset, with a user and a forecaster source."""
    from bvp.data.models import Account, Asset, DataSource, Sensor

    account = Account(name="Test account", timezone="Europe/Amsterdam")
    asset = Asset(name="Test PV", asset_type="pv", account=account, timezone="Europe/Amsterdam")
    sensor = Sensor(
        name="power",
        unit="kW",
        event_resolution=__import__("datetime").timedelta(minutes=15),
        timezone="Europe/Amsterdam",
        asset=asset,
    )
    db.add_all(
        [
            account,
            asset,
            sensor,
            DataSource(name="meter", type="user"),
            DataSource(name="other meter", type="user"),
        ]
    )
    db.commit()
    return sensor


REPO = Path(__file__).resolve().parent.parent


def run_worker(*command: str) -> str:
    """A real worker process (default: `flask run_forecasting_worker --burst`) to the end;
    what it printed."""
    command = command or ("-m", "flask", "run_forecasting_worker", "--burst")
    env = {**os.environ, "BVP_ENV": "testing"}
    worker = subprocess.Popen(
        [sys.executable, *command],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a timeout ends the work horse too
    )
    try:
        stdout, stderr = worker.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)  # no stray horse keeps holding locks
        _, stderr = worker.communicate()
        raise AssertionError(f"the worker did not finish within 240 s:\n{stderr}") from None
    assert worker.returncode == 0, stderr
    return stdout


# Modules whose fixtures start processes, a browser or faults: every test in them is slow.
SLOW_MODULES = (
    "tests/faults/",
    "tests/ui/test_browser.py",
    "tests/api/test_fuzz.py",
    "tests/test_embedded.py",
    "tests/test_procfile.py",
    "tests/test_tasks.py",
    "tests/forecasting/test_worker.py",
    "tests/forecasting/test_selection_companion.py",
)
_STARTS_PROCESSES = re.compile(r"\brun_worker\(|\bsubprocess\.|\bPopen\(")


def pytest_collection_modifyitems(config, items):
    """Mark slow tests (`./tasks test --fast` leaves them out): those of SLOW_MODULES, and
    any test whose own code starts a worker or another process."""
    for item in items:
        module = item.path.relative_to(REPO).as_posix()
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        if module.startswith(SLOW_MODULES) or _STARTS_PROCESSES.search(source):
            item.add_marker(pytest.mark.slow)
