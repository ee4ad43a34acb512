"""The ingestion status: per source, the newest event its beliefs are about, across its
sensors, and whether that is late against its publication schedule."""

from datetime import timedelta

import numpy as np
import pandas as pd

from bvp.data.beliefs import save_beliefs
from bvp.data.models import Account, Asset, DataSource, Sensor
from bvp.ingestion.manifest import load_manifest
from bvp.ingestion.status import source_statuses

NOW = pd.Timestamp("2024-06-10T12:00Z")
MANIFEST = """
sensors:
{sensors}
sources:
{sources}
"""
SENSOR = "  {key}: {{account: plant, asset: site, name: {key}, unit: kW, resolution: PT15M}}"
SOURCE = """
  - id: {name}
    title: {name}
    description: Files the site's meter exports.
    tags: [core_data]
    publication_schedule: daily
    importers:
      - name: csv
        files: '\\\\.csv$'
        options: {{timestamp_column: time, columns: {{{columns}}}}}
"""
FEEDS = {"feed_a": ["a1", "a2", "a3"], "feed_b": ["b1"], "feed_c": ["c1"]}


def manifest(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        MANIFEST.format(
            sensors="\n".join(SENSOR.format(key=k) for keys in FEEDS.values() for k in keys),
            sources="".join(
                SOURCE.format(name=name, columns=", ".join(f"{k}: {k}" for k in keys))
                for name, keys in FEEDS.items()
            ),
        )
    )
    return load_manifest(path)


def store(db, sensor, source, end: pd.Timestamp):
    events = pd.date_range(end - pd.Timedelta(hours=2), end, freq="15min", inclusive="left")
    save_beliefs(
        db,
        {"event_start": events, "event_value": np.ones(len(events))},
        sensor_id=sensor.id,
        source_id=source.id,
        belief_time=end.to_pydatetime(),
    )


def test_each_source_shows_its_newest_event_across_its_sensors(db, tmp_path):
    site = Asset(name="site", asset_type="building", account=Account(name="plant"))
    sensors = {
        key: Sensor(
            name=key,
            unit="kW",
            event_resolution=timedelta(minutes=15),
            asset=site,
            attributes={"ingested_as": key},
        )
        for keys in FEEDS.values()
        for key in keys
    }
    feed_a = DataSource(name="feed_a", type="importer", model="ingestion")
    feed_b = DataSource(name="feed_b", type="importer", model="ingestion")
    posted = DataSource(name="someone", type="user")
    forecaster = DataSource(name="BVP", type="forecaster", model="naive-1d", version="2")
    db.add_all([*sensors.values(), feed_a, feed_b, posted, forecaster])
    db.commit()
    store(db, sensors["a1"], feed_a, NOW - pd.Timedelta(days=3))
    store(db, sensors["a2"], feed_a, NOW)  # the source's newest, on one of its sensors
    store(db, sensors["a2"], forecaster, NOW + pd.Timedelta(days=1))  # forecasts: not its
    # a3: no data yet. feed_b stopped months ago; someone posts to its sensor since.
    store(db, sensors["b1"], feed_b, NOW - pd.Timedelta(days=120))
    store(db, sensors["b1"], posted, NOW)
    db.commit()

    statuses = {s.source.id: s for s in source_statuses(db, manifest(tmp_path), NOW)}

    a, b, c = statuses["feed_a"], statuses["feed_b"], statuses["feed_c"]
    assert a.latest_event == NOW - pd.Timedelta(minutes=15) and a.late_by is None
    assert b.latest_event == NOW - pd.Timedelta(days=120, minutes=15)
    assert b.late_by > timedelta(days=118)
    assert c.latest_event is None  # never imported: no data source, no data
