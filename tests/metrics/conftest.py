"""Hand-built months with known gaps, revisions, lateness and forecast errors."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from bvp.data.beliefs import save_beliefs
from bvp.data.models import Account, Asset, DataSource, Sensor


@pytest.fixture
def hourly(db):
    """An hourly sensor per account: "amsterdam" (Europe/Amsterdam) and "utc" (UTC)."""

    def make(name: str, timezone: str) -> Sensor:
        account = Account(name=name, timezone=timezone)
        asset = Asset(name=f"{name} site", asset_type="site", account=account, timezone=timezone)
        sensor = Sensor(
            name=f"{name} load",
            unit="kW",
            event_resolution=timedelta(hours=1),
            timezone=timezone,
            asset=asset,
        )
        db.add_all([account, asset, sensor])
        return sensor

    sensors = {"amsterdam": make("amsterdam", "Europe/Amsterdam"), "utc": make("utc", "UTC")}
    meter = DataSource(name="meter", type="user")
    ridge = DataSource(name="BVP", type="forecaster", model="ridge", version="1")
    db.add_all([meter, ridge])
    db.commit()
    return {**sensors, "meter": meter, "ridge": ridge}


def store(db, sensor, source, events, values, belief_times, probability=0.5):
    save_beliefs(
        db,
        {
            "event_start": pd.DatetimeIndex(events),
            "belief_time": pd.DatetimeIndex(belief_times),
            "event_value": np.asarray(values, dtype=float),
            "cumulative_probability": np.full(len(events), probability),
        },
        sensor_id=sensor.id,
        source_id=source.id,
    )
    db.commit()
