"""What a sensor's stored values mean is fixed once it holds any: every caller (API,
CLI, scripts) changes sensors through ``change_sensor``, which keeps the rule."""

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from bvp.data.beliefs import save_beliefs
from bvp.data.models import DataSource
from bvp.data.models.sensors import FrozenSensorError, change_sensor


def test_unit_and_resolution_change_freely_until_the_sensor_holds_data(db, sensor):
    change_sensor(db, sensor, {"unit": "MW", "event_resolution": timedelta(hours=1)})
    assert (sensor.unit, sensor.event_resolution) == ("MW", timedelta(hours=1))
    change_sensor(db, sensor, {"unit": "kW", "event_resolution": timedelta(minutes=15)})
    meter = db.scalar(select(DataSource).where(DataSource.name == "meter"))
    save_beliefs(
        db,
        {
            "event_start": pd.date_range("2024-06-01", periods=2, freq="15min", tz="UTC"),
            "event_value": [1.0, 2.0],
        },
        sensor_id=sensor.id,
        source_id=meter.id,
        belief_time=pd.Timestamp("2024-06-02", tz="UTC").to_pydatetime(),
    )
    with pytest.raises(FrozenSensorError) as refused:
        change_sensor(db, sensor, {"unit": "MW", "name": "renamed"})
    assert refused.value.fields == ["unit"]
    assert (sensor.unit, sensor.name) == ("kW", "power")  # nothing of the change applied
    change_sensor(db, sensor, {"name": "renamed", "unit": "kW"})  # the same unit is no change
    assert sensor.name == "renamed"
