"""Units and sensor attributes through the API: a typo is a 422 naming the field and what
was meant, never a sensor nobody can post to or a setting that fails at cron time."""

import io

from sqlalchemy import func, select

from bvp.data.models import Sensor, TimedBelief
from tests.api.conftest import ids
from tests.api.test_sensors import sensor_body

DAY = {"start": "2024-06-01T00:00:00+02:00", "duration": "PT1H", "values": [1, 2, 3, 4]}


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_a_sensor_with_an_unknown_unit_is_refused_naming_the_unit_meant(as_, db, world):
    sensor_id, asset_id = ids(world)
    admin = as_("account-admin")
    before = count(db, Sensor)
    created = admin.post("/api/v1/sensors", json=sensor_body(asset_id, unit="kwh"))
    assert created.status_code == 422
    assert created.get_json()["errors"] == {
        "unit": ["'kwh' is not a unit BVP knows (did you mean 'kWh', 'Wh' or 'kW'?)"]
    }
    changed = admin.patch(f"/api/v1/sensors/{sensor_id}", json={"unit": "MWH"})
    assert changed.status_code == 422
    assert "did you mean 'MWh'" in changed.get_json()["errors"]["unit"][0]
    assert count(db, Sensor) == before
    assert admin.get(f"/api/v1/sensors/{sensor_id}").get_json()["unit"] == "kW"


def test_energy_prices_percentages_and_weather_units_are_taken(as_, world):
    _, asset_id = ids(world)
    admin = as_("account-admin")
    for name, unit in (("price", "EUR/MWh"), ("soc", "%"), ("ghi", "W/m²"), ("t", "°C")):
        created = admin.post("/api/v1/sensors", json=sensor_body(asset_id, name=name, unit=unit))
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["unit"] == unit


def test_data_in_an_unknown_unit_is_refused_and_nothing_stored(as_, db, world, redis):
    sensor_id, _ = ids(world)
    user = as_("user")
    posted = user.post(f"/api/v1/sensors/{sensor_id}/data", json={**DAY, "unit": "Mw"})
    assert posted.status_code == 422
    assert "did you mean 'MW'" in posted.get_json()["errors"]["unit"][0]
    read = user.get(
        f"/api/v1/sensors/{sensor_id}/data",
        query_string={"start": DAY["start"], "end": "2024-06-02T00:00:00+02:00", "unit": "kWhh"},
    )
    assert read.status_code == 422 and "did you mean 'kWh'" in read.get_json()["errors"]["unit"][0]
    csv = "event_start,value [kw]\n2024-06-01T00:00:00+02:00,1\n"
    uploaded = user.post(
        f"/api/v1/sensors/{sensor_id}/data/upload",
        data={"file": (io.BytesIO(csv.encode()), "r.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 422, uploaded.get_json()
    assert "did you mean 'kW'" in uploaded.get_json()["errors"]["unit"][0]
    flexmeasures = user.post(f"/api/v3_0/sensors/{sensor_id}/data", json={**DAY, "unit": "kw"})
    assert flexmeasures.status_code == 422
    assert "did you mean 'kW'" in flexmeasures.get_json()["errors"]["unit"][0]
    assert count(db, TimedBelief) == 0


def test_a_sensor_stored_with_an_odd_unit_keeps_taking_and_giving_it(as_, db, world, redis):
    sensor_id, _ = ids(world)
    db.get(Sensor, sensor_id).unit = "m3 gas"  # made before units were checked
    db.commit()
    user = as_("user")
    url = f"/api/v1/sensors/{sensor_id}/data"
    assert user.post(url, json={**DAY, "unit": "m3 gas"}).status_code == 200
    read = user.get(url, query_string={"start": DAY["start"], "end": "2024-06-01T01:00:00+02:00"})
    assert read.status_code == 200
    assert (read.get_json()["unit"], read.get_json()["values"]) == ("m3 gas", [1, 2, 3, 4])
    other = user.post(url, json={**DAY, "unit": "kW"})
    assert other.status_code == 422
    assert (
        "the sensor's unit 'm3 gas' is not one BVP knows" in other.get_json()["errors"]["unit"][0]
    )
    admin = as_("account-admin")
    renamed = admin.patch(f"/api/v1/sensors/{sensor_id}", json={"name": "gas"})
    assert renamed.status_code == 200 and renamed.get_json()["unit"] == "m3 gas"


def test_attributes_are_checked_naming_each_bad_one(as_, db, world):
    sensor_id, asset_id = ids(world)
    south_sensor, _ = ids(world, "south")
    admin = as_("account-admin")
    before = count(db, Sensor)
    created = admin.post(
        "/api/v1/sensors",
        json=sensor_body(
            asset_id,
            attributes={"reforecast_every": "1 hour", "capacty": 5, "regressors": [sensor_id, "x"]},
        ),
    )
    assert created.status_code == 422
    errors = created.get_json()["errors"]
    assert set(errors) == {
        "attributes.reforecast_every",
        "attributes.capacty",
        "attributes.regressors[1]",
    }
    assert errors["attributes.capacty"] == ["Unknown attribute; did you mean capacity?"]
    # Regressors must be sensors of the account, and not the sensor itself.
    changed = admin.patch(
        f"/api/v1/sensors/{sensor_id}",
        json={"attributes": {"regressors": [south_sensor, sensor_id, 99999]}},
    )
    assert changed.status_code == 422
    assert set(changed.get_json()["errors"]) == {f"attributes.regressors[{i}]" for i in range(3)}
    assert "Not its own regressor" in changed.get_json()["errors"]["attributes.regressors[1]"][0]
    assert count(db, Sensor) == before
    assert admin.get(f"/api/v1/sensors/{sensor_id}").get_json()["attributes"] == {}


def test_valid_attributes_are_stored_and_read_by_the_forecasts(as_, db, world):
    sensor_id, _ = ids(world)
    energy = world["north"]["energy"]
    changed = as_("account-admin").patch(
        f"/api/v1/sensors/{sensor_id}",
        json={
            "attributes": {
                "reforecast_every": "PT60M",
                "regressors": [energy],
                "country": "NL",
                "capacity": 250.0,
            }
        },
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["attributes"] == {
        "reforecast_every": "PT1H",
        "regressors": [energy],
        "country": "NL",
        "capacity": 250.0,
    }
    db.expire_all()
    read = db.get(Sensor, sensor_id).typed_attributes
    assert (read.regressors, read.capacity, read.country) == ([energy], 250.0, "NL")


def test_the_attributes_are_documented_key_by_key(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    attributes = document["components"]["schemas"]["Sensor"]["properties"]["attributes"]
    assert attributes["additionalProperties"] is False
    assert attributes["properties"]["reforecast_every"]["nullable"] is True
    assert attributes["properties"]["regressors"]["items"]["type"] == "integer"
