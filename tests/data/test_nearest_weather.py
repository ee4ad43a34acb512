"""A sensor that names no regressors reads the weather station of its account nearest its
asset: by earthdistance where the server has it, by the same great circle where not."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bvp.data.models import Account, Asset, Sensor
from bvp.data.models.sensors import regressors_of

PARK = (52.0, 5.0)
KM_LATITUDE = 1 / 111.2  # degrees of latitude in a kilometre


def add_asset(db, account, name, kind, north_km=None):
    coordinates = {}
    if north_km is not None:
        coordinates = {"latitude": PARK[0] + north_km * KM_LATITUDE, "longitude": PARK[1]}
    asset = Asset(name=name, asset_type=kind, account=account, **coordinates)
    sensors = [
        Sensor(name=n, unit="x", event_resolution=timedelta(minutes=15), asset=asset)
        for n in ("irradiance", "temperature")
    ]
    db.add_all([asset, *sensors])
    db.flush()
    return asset, [s.id for s in sensors]


@pytest.fixture
def parks(db):
    ours, theirs = Account(name="ours"), Account(name="theirs")
    park = Asset(name="park", asset_type="pv", account=ours, latitude=PARK[0], longitude=PARK[1])
    power = Sensor(name="power", unit="kW", event_resolution=timedelta(minutes=15), asset=park)
    db.add_all([park, power])
    near = add_asset(db, ours, "near station", "weather_station", north_km=10)[1]
    add_asset(db, ours, "farther station", "weather_station", north_km=30)
    add_asset(db, ours, "far station", "weather_station", north_km=80)
    add_asset(db, theirs, "their station next door", "weather_station", north_km=1)
    db.commit()
    return power, near


@pytest.mark.parametrize("extension", [True, False], ids=["earthdistance", "great circle"])
def test_the_nearest_station_of_the_same_account_within_50_km(db, parks, monkeypatch, extension):
    power, near = parks
    if not extension:  # as on a server without the extension
        monkeypatch.setattr("bvp.data.models.assets._HAS_EARTHDISTANCE", text("SELECT false"))
    assert db.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'earthdistance'"))
    assert regressors_of(db, power) == near  # not their station 1 km away, not the farther


def test_named_regressors_or_none_are_kept(db, parks):
    power, _ = parks
    power.attributes = {"regressors": []}
    assert regressors_of(db, power) == []  # "none", said explicitly


def test_no_station_within_50_km_or_no_coordinates_means_no_regressors(db, parks):
    power, _ = parks
    named = Asset.name.in_(["near station", "farther station"])
    for station in db.scalars(select(Asset).where(named)):
        station.latitude = PARK[0] + 60 * KM_LATITUDE
    db.flush()
    assert regressors_of(db, power) == []
    power.asset.latitude = None
    assert regressors_of(db, power) == []


def test_new_weather_data_calls_for_the_forecasts_of_sensors_naming_it(db, parks):
    """A measurement or a weather forecast stored for a station's sensor re-forecasts the
    sensors of the same account that name it, as a past or a future regressor."""
    from bvp.data.models.sensors import sensors_using_as_regressor

    power, [irradiance, temperature] = parks
    power.attributes = {"future_regressors": [irradiance]}
    other = Sensor(name="load", unit="kW", event_resolution=timedelta(minutes=15))
    other.asset = power.asset
    other.attributes = {"regressors": [irradiance, temperature]}
    theirs = db.scalar(select(Asset).where(Asset.name == "their station next door"))
    foreign = Sensor(name="x", unit="x", event_resolution=timedelta(minutes=15), asset=theirs)
    foreign.attributes = {"regressors": [irradiance]}
    db.add_all([other, foreign])
    db.flush()
    assert sensors_using_as_regressor(db, irradiance) == [power.id, other.id]
    assert sensors_using_as_regressor(db, temperature) == [other.id]
