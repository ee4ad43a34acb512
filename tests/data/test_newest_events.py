"""The newest events of many sensors at once (the sensors page, the ingestion status)."""

from datetime import timedelta

import numpy as np
import pandas as pd

from bvp.data.beliefs import save_beliefs
from bvp.data.models import Account, Asset, DataSource, Sensor
from bvp.data.models.data_sources import importer_source_ids
from bvp.data.models.sensors import sensors_ingested_as
from bvp.data.newest_events import FIRST_LOOK, newest_events, newest_measured_values

NOW = pd.Timestamp("2024-06-10T00:00Z")
QUARTER = pd.Timedelta(minutes=15)


def fleet(db, n: int, account: str = "fleet") -> list[Sensor]:
    asset = Asset(name=f"{account} site", asset_type="pv", account=Account(name=account))
    sensors = [
        Sensor(
            name=f"meter {i}",
            unit="kW",
            event_resolution=timedelta(minutes=15),
            asset=asset,
            attributes={"ingested_as": f"{account}_{i}"},
        )
        for i in range(n)
    ]
    db.add_all(sensors)
    db.commit()
    return sensors


def sources(db) -> tuple[DataSource, DataSource, DataSource]:
    meter = DataSource(name="feed", type="importer", model="ingestion")
    other = DataSource(name="other feed", type="importer", model="ingestion")
    forecaster = DataSource(name="BVP", type="forecaster", model="naive-1d", version="2")
    db.add_all([meter, other, forecaster])
    db.commit()
    return meter, other, forecaster


def store(db, sensor, source, end: pd.Timestamp, value: float, *, hours=6, belief_time=None):
    events = pd.date_range(end - pd.Timedelta(hours=hours), end, freq=QUARTER, inclusive="left")
    save_beliefs(
        db,
        {"event_start": events, "event_value": np.full(len(events), value)},
        sensor_id=sensor.id,
        source_id=source.id,
        belief_time=(belief_time or end).to_pydatetime(),
    )
    db.commit()


def test_newest_measured_values_of_many_sensors_in_months_apart(db):
    """Each sensor's newest measured event and its latest value: corrections count,
    forecasts beyond do not, sensors without measurements are left out."""
    sensors = fleet(db, 40)
    meter, _, forecaster = sources(db)
    ends = {}
    for i, sensor in enumerate(sensors[:36]):
        ends[sensor.id] = NOW - pd.Timedelta(days=3 * i)  # across four months
        store(db, sensor, meter, ends[sensor.id], float(i))
        store(db, sensor, forecaster, ends[sensor.id] + pd.Timedelta(days=1), -1.0, hours=24)
    corrected = sensors[5]
    store(db, corrected, meter, ends[corrected.id], 99.0, hours=1, belief_time=NOW + QUARTER)
    only_forecasts = sensors[36]
    store(db, only_forecasts, forecaster, NOW, -1.0)

    newest = newest_measured_values(db, [s.id for s in sensors])

    assert set(newest) == set(ends)  # no measurement (only forecasts, or nothing): absent
    for i, sensor in enumerate(sensors[:36]):
        start, value = newest[sensor.id]
        assert start == ends[sensor.id] - QUARTER
        assert value == (99.0 if sensor is corrected else float(i))
    assert newest_measured_values(db, []) == {}
    assert newest_measured_values(db, [sensors[38].id]) == {}


def test_newest_events_per_sensor_and_source(db):
    """Per (sensor, source): the newest event that source holds, also far older than the
    sensor's newest measurement by another source (the second look), and never a
    forecast's."""
    sensors = fleet(db, 6)
    meter, other, forecaster = sources(db)
    store(db, sensors[0], meter, NOW, 1.0)
    store(db, sensors[0], other, NOW - pd.Timedelta(days=2), 1.0)
    store(db, sensors[0], forecaster, NOW + pd.Timedelta(days=1), 1.0, hours=24)
    old = NOW - FIRST_LOOK - pd.Timedelta(days=60)
    store(db, sensors[1], meter, old, 1.0)  # a feed that stopped months ago...
    store(db, sensors[1], other, NOW, 1.0)  # ...while another goes on
    store(db, sensors[2], meter, NOW - pd.Timedelta(days=200), 1.0)  # stale on its own
    # sensors[3]: no data at all; sensors[4]: only the other feed
    store(db, sensors[4], other, NOW, 1.0)

    pairs = [(s.id, source.id) for s in sensors for source in (meter, other)]
    newest = newest_events(db, pairs)

    assert newest == {
        (sensors[0].id, meter.id): NOW - QUARTER,
        (sensors[0].id, other.id): NOW - pd.Timedelta(days=2) - QUARTER,
        (sensors[1].id, meter.id): old - QUARTER,
        (sensors[1].id, other.id): NOW - QUARTER,
        (sensors[2].id, meter.id): NOW - pd.Timedelta(days=200) - QUARTER,
        (sensors[4].id, other.id): NOW - QUARTER,
    }
    assert newest_events(db, []) == {}


def test_ingested_sensors_and_importer_sources_are_looked_up_by_name(db):
    """The ingestion status's lookups: only the keys and names asked for, of any account."""
    north, south = fleet(db, 3, "north"), fleet(db, 2, "south")
    meter = sources(db)[0]
    db.add(DataSource(name="feed", type="user"))  # the same name, not an importer
    db.commit()
    found = sensors_ingested_as(db, ["north_0", "south_1", "nowhere"])
    assert found == {"north_0": north[0].id, "south_1": south[1].id}
    assert importer_source_ids(db, ["feed", "missing"]) == {"feed": meter.id}
