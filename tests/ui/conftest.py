"""Two accounts with a user of every role, a PV-like sensor each with measurements and
forecasts (p10/p50/p90), and signing in through the dashboard's login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session as OrmSession

from bvp.data.beliefs import save_beliefs
from bvp.data.db import Base, Session, get_engine
from bvp.data.models import Account, Asset, DataSource, Sensor, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.passwords import hash_password

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # once: Argon2 is slow on purpose
ROLES = ("admin", "account-admin", "user", "viewer")
# The measurements end here (local time 2016-10-13 05:00 in Denver, MDT).
LAST_END = pd.Timestamp("2016-10-13T11:00Z")
RESOLUTION = pd.Timedelta(minutes=15)


@dataclass
class World:
    accounts: dict[str, int]
    sensors: dict[str, int]  # account name -> its PV sensor
    users: dict[str, dict[str, str]]  # account name -> role -> email


def pv_shape(events: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """A clear-sky-like day curve in local solar time, in kW, with a little weather."""
    local = events.tz_convert(timezone)
    hours = local.hour + local.minute / 60
    sun = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    weather = 0.9 + 0.1 * np.cos(np.arange(len(events)) / 37)
    return np.round(5 * sun * weather, 3)


def measure(db, sensor_id: int, source_id: int, start: pd.Timestamp, end: pd.Timestamp, tz: str):
    events = pd.date_range(start, end, freq=RESOLUTION, inclusive="left")
    save_beliefs(
        db,
        {
            "event_start": events,
            "belief_time": events + RESOLUTION,
            "event_value": pv_shape(events, tz),
        },
        sensor_id=sensor_id,
        source_id=source_id,
    )


def forecast(db, sensor_id: int, source_id: int, origin: pd.Timestamp, hours: int, tz: str):
    """A p10/p50/p90 forecast from ``origin``, believed at the origin."""
    events = pd.date_range(origin, origin + pd.Timedelta(hours=hours), freq=RESOLUTION)[:-1]
    p50 = pv_shape(events, tz) * 0.95
    for probability, factor in ((0.1, 0.7), (0.5, 1.0), (0.9, 1.2)):
        save_beliefs(
            db,
            {"event_start": events, "event_value": p50 * factor},
            sensor_id=sensor_id,
            source_id=source_id,
            belief_time=origin.to_pydatetime(),
            cumulative_probability=probability,
        )


@pytest.fixture
def database(app):
    """``with database() as session:`` commits what the block did; every table is emptied
    after the test.

    Unlike the shared ``db`` fixture, no app context stays open during the test, so each
    request of a test client gets its own, as in production: Flask-Login and Flask-WTF
    keep the signed-in user and the CSRF token in the app context's ``g``.
    """

    @contextmanager
    def session() -> Iterator[OrmSession]:
        with app.app_context():
            try:
                yield Session()
                Session().commit()
            finally:
                Session.remove()

    yield session
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine().begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail, never hang
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def world(database) -> World:
    """Accounts "north" (America/Denver) and "south" (Europe/Amsterdam): each a PV sensor
    with four days of measurements up to LAST_END and a day-ahead quantile forecast from
    there; a user of every role each."""
    with database() as db:
        return build_world(db)


def build_world(db) -> World:
    roles = {r.name: r for r in ensure_roles(db)}
    meter = DataSource(name="meter", type="importer")
    model = DataSource(name="BVP", type="forecaster", model="gbm-quantiles", version="1")
    db.add_all([meter, model])
    accounts, sensors, users = {}, {}, {}
    for name, timezone in (("north", "America/Denver"), ("south", "Europe/Amsterdam")):
        account = Account(name=name, timezone=timezone)
        asset = Asset(name=f"{name} PV park", asset_type="pv", account=account, timezone=timezone)
        sensor = Sensor(
            name=f"{name} PV power",
            unit="kW",
            event_resolution=RESOLUTION.to_pytimedelta(),
            timezone=timezone,
            asset=asset,
        )
        people = [
            User(
                email=f"{role}@{name}.example",
                password_hash=PASSWORD_HASH,
                account=account,
                roles=[roles[role]],
            )
            for role in ROLES
        ]
        db.add_all([account, asset, sensor, *people])
        db.flush()
        accounts[name], sensors[name] = account.id, sensor.id
        users[name] = {role: f"{role}@{name}.example" for role in ROLES}
        measure(db, sensor.id, meter.id, LAST_END - pd.Timedelta(days=4), LAST_END, timezone)
        forecast(db, sensor.id, model.id, LAST_END, 24, timezone)
    return World(accounts, sensors, users)


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF token field"
    return found.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the login form, as a browser does (CSRF token included)."""
    page = client.get("/dashboard/login")
    return client.post(
        "/dashboard/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
    )


@pytest.fixture
def signed_in(app, world):
    """signed_in("viewer", "north") -> a test client with that user's dashboard session."""

    def client_of(role: str, account: str = "north"):
        client = app.test_client()
        response = sign_in(client, world.users[account][role])
        assert response.status_code == 302, response.text
        return client

    return client_of
