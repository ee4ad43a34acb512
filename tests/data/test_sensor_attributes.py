"""A sensor's attributes have one definition: what the API takes, and what forecasts, the
schedule and regressors read (a sensor stored before the check keeps working)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bvp.data.models import Sensor
from bvp.data.models.sensors import regressors_of
from bvp.data.populate import populate_structure
from bvp.data.sensor_attributes import SensorAttributesError, check_attributes
from bvp.data.units import check_unit


def test_a_typo_in_a_key_names_the_key_meant():
    with pytest.raises(SensorAttributesError) as refused:
        check_attributes({"reforcast_every": "PT1H", "capacity": 5})
    assert refused.value.errors == {
        "reforcast_every": ["Unknown attribute; did you mean reforecast_every?"]
    }


def test_each_bad_value_is_named_by_its_path():
    with pytest.raises(SensorAttributesError) as refused:
        check_attributes(
            {
                "reforecast_every": "1 hour",
                "regressors": [3, "4", 0],
                "country": "Netherlands",
                "daylight_only": "yes",
                "lower_bound": float("nan"),
            }
        )
    assert set(refused.value.errors) == {
        "reforecast_every",
        "regressors[1]",
        "regressors[2]",
        "country",
        "daylight_only",
        "lower_bound",
    }
    assert "ISO 8601" in refused.value.errors["reforecast_every"][0]
    with pytest.raises(SensorAttributesError) as refused:
        check_attributes({"lower_bound": 10, "capacity": 5})
    assert refused.value.errors == {"capacity": ["Must be above lower_bound."]}


def test_valid_attributes_are_stored_as_given_with_durations_as_iso():
    attributes = check_attributes({"reforecast_every": "PT60M", "regressors": [], "country": "NL"})
    assert attributes.stored() == {"reforecast_every": "PT1H", "regressors": [], "country": "NL"}
    assert attributes.reforecast_every == timedelta(hours=1)


def test_readers_leave_out_what_an_old_sensor_stored_wrongly(db, sensor, caplog):
    other = Sensor(name="other", unit="kW", event_resolution=sensor.event_resolution)
    other.asset = sensor.asset
    db.add(other)
    db.flush()
    sensor.attributes = {
        "regressors": [str(other.id)],  # ids as text, as the API once took them
        "reforecast_every": "hourly",
        "notes": "kept in the database, unknown to readers",
        "country": "NL",
    }
    db.commit()
    read = sensor.typed_attributes
    assert (read.reforecast_every, read.country) == (None, "NL")
    assert regressors_of(db, sensor) == [other.id]
    assert "reforecast_every" in caplog.text and "notes" in caplog.text
    assert sensor.attributes["notes"]  # nothing rewritten


def test_the_sample_structure_makes_valid_sensors(db):
    populate_structure(db, "admin@bvp.example", "s3cret-pass")
    sensors = list(db.scalars(select(Sensor)))
    assert len(sensors) >= 3
    for made in sensors:
        check_unit(made.unit)
        assert check_attributes(made.attributes).stored() == made.attributes
