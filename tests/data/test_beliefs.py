"""save_beliefs and latest_beliefs on real PostgreSQL."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from bvp.data.belief_input import BeliefsError
from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.models import TimedBelief
from bvp.data.utc import NaiveDatetimeError

START = pd.Timestamp("2024-06-01T00:00Z")
END = START + pd.Timedelta(days=1)
QUARTERS = pd.date_range(START, END, freq="15min", inclusive="left")
METER, OTHER_METER = 1, 2


def save(db, values, belief_time, source=METER, events=QUARTERS, **kwargs):
    result = save_beliefs(
        db,
        {"event_start": events, "event_value": values},
        sensor_id=kwargs.pop("sensor_id", 1),
        source_id=source,
        belief_time=belief_time,
        **kwargs,
    )
    db.commit()
    return result


def count_rows(db) -> int:
    return db.scalar(select(func.count()).select_from(TimedBelief))


def test_saved_values_read_back_in_utc(db, sensor):
    values = np.arange(96, dtype=float)
    result = save(db, values, END)
    assert (result.created, result.updated, result.unchanged) == (96, 0, 0)
    frame = latest_beliefs(db, sensor.id, START, END)
    assert frame.index.tz is not None and str(frame.index.tz) == "UTC"
    assert (frame.index == QUARTERS).all()
    np.testing.assert_array_equal(frame["event_value"], values)
    assert (frame["belief_time"] == END).all()


def test_reposting_the_same_beliefs_changes_nothing(db, sensor):
    values = np.linspace(0, 5, 96)
    save(db, values, END)
    again = save(db, values, END)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 96)
    assert count_rows(db) == 96


def test_the_same_key_with_a_new_value_is_updated_in_place(db, sensor):
    save(db, np.zeros(96), END)
    changed = np.zeros(96)
    changed[10] = 42.0
    result = save(db, changed, END)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 95)
    assert latest_beliefs(db, sensor.id, START, END)["event_value"].iloc[10] == 42.0


def test_latest_belief_wins_and_as_of_shows_what_was_known(db, sensor):
    save(db, np.full(96, 1.0), END)  # measured at the end of the day
    save(db, np.full(96, 2.0), END + timedelta(hours=1))  # corrected an hour later
    assert (latest_beliefs(db, sensor.id, START, END)["event_value"] == 2.0).all()
    as_known = latest_beliefs(db, sensor.id, START, END, as_of=END + timedelta(minutes=30))
    assert (as_known["event_value"] == 1.0).all()
    assert latest_beliefs(db, sensor.id, START, END, as_of=START).empty
    assert count_rows(db) == 192  # history is kept, not overwritten


def test_every_belief_is_read_oldest_first_per_event(db, sensor):
    """What a forecast needs to read a weather forecast as it was known at any origin."""
    save(db, np.full(96, 1.0), START - timedelta(hours=12))  # a forecast the evening before
    save(db, np.full(96, 2.0), START - timedelta(hours=1))  # a later forecast
    save(db, np.full(96, 3.0), END)  # measured
    every = latest_beliefs(db, sensor.id, START, END, every_belief=True)
    assert len(every) == 3 * 96
    first = every.loc[QUARTERS[0]]
    assert first["event_value"].tolist() == [1.0, 2.0, 3.0]
    assert first["belief_time"].is_monotonic_increasing
    after = latest_beliefs(db, sensor.id, START, END, every_belief=True, as_of=START)
    assert set(after["event_value"]) == {1.0, 2.0}  # the measurement came later


def test_source_filter(db, sensor):
    save(db, np.full(96, 1.0), END, source=METER)
    save(db, np.full(96, 3.0), END + timedelta(hours=1), source=OTHER_METER)
    assert (latest_beliefs(db, sensor.id, START, END, source=METER)["event_value"] == 1).all()
    frame = latest_beliefs(db, sensor.id, START, END, source=[METER, OTHER_METER])
    assert (frame["source_id"] == OTHER_METER).all()


def test_window_is_half_open(db, sensor):
    save(db, np.ones(96), END)
    frame = latest_beliefs(db, sensor.id, QUARTERS[4], QUARTERS[8])
    assert list(frame.index) == list(QUARTERS[4:8])


def test_nulls_are_skipped_and_counted(db, sensor):
    values = np.ones(96)
    values[[3, 50]] = np.nan
    result = save(db, values, END)
    assert (result.created, result.skipped_nulls) == (94, 2)
    assert len(latest_beliefs(db, sensor.id, START, END)) == 94


def test_within_one_batch_the_last_duplicate_wins(db, sensor):
    events = QUARTERS[[0, 1, 0]]
    result = save(db, [1.0, 2.0, 3.0], END, events=events)
    assert result.created == 2
    assert latest_beliefs(db, sensor.id, START, END)["event_value"].tolist() == [3.0, 2.0]


def test_a_dataframe_indexed_by_event_start_is_accepted(db, sensor):
    frame = pd.DataFrame({"event_value": np.ones(96)}, index=QUARTERS)
    result = save_beliefs(db, frame, sensor_id=sensor.id, source_id=METER, belief_time=END)
    assert result.created == 96


def test_quantiles_are_separate_beliefs_and_reads_default_to_the_median(db, sensor):
    for probability, value in ((0.1, 1.0), (0.5, 2.0), (0.9, 3.0)):
        save(db, np.full(96, value), START, cumulative_probability=probability)
    assert count_rows(db) == 288
    assert (latest_beliefs(db, sensor.id, START, END)["event_value"] == 2.0).all()
    p90 = latest_beliefs(db, sensor.id, START, END, cumulative_probability=0.9)
    assert (p90["event_value"] == 3.0).all()


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        (["1", "x", "3"], {}, r"event_value\[1\]: must be a number"),
        ([1.0, np.inf, 3.0], {}, r"event_value\[1\]: must be a finite number"),
        ([1.0, 2.0], {}, "event_value: has 2 values for 3 events"),
        ([1.0, 2.0, 3.0], {"cumulative_probability": 1.5}, r"cumulative_probability\[0\]"),
    ],
)
def test_bad_values_are_refused_with_field_and_index_and_nothing_is_stored(
    db, sensor, values, kwargs, message
):
    with pytest.raises(BeliefsError, match=message):
        save(db, values, END, events=QUARTERS[:3], **kwargs)
    assert count_rows(db) == 0


def test_naive_event_starts_are_refused(db, sensor):
    naive = pd.date_range("2024-06-01", periods=3, freq="15min")
    with pytest.raises(NaiveDatetimeError, match="event_start: 2024-06-01 00:00:00 has no UTC"):
        save(db, [1.0, 2.0, 3.0], END, events=naive)
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        latest_beliefs(db, sensor.id, START, END, as_of=pd.Timestamp("2024-06-02").to_pydatetime())
    assert count_rows(db) == 0


def test_naive_belief_time_is_refused(db, sensor):
    with pytest.raises(NaiveDatetimeError, match="belief_time: 2024-06-02 00:00:00 has no UTC"):
        save(db, np.ones(96), pd.Timestamp("2024-06-02").to_pydatetime())


def test_unknown_sensor_or_source_is_refused_and_nothing_is_stored(db, sensor):
    with pytest.raises(BeliefsError, match=r"sensor_id\[0\]: sensor 99 does not exist"):
        save(db, np.ones(96), END, sensor_id=99)
    db.rollback()
    with pytest.raises(BeliefsError, match=r"source_id\[0\]: data source 42 does not exist"):
        save(db, np.ones(96), END, source=42)
    db.rollback()
    assert count_rows(db) == 0


def test_deleting_a_sensor_or_source_deletes_its_beliefs(db, sensor):
    from bvp.data.models import DataSource, Sensor

    save(db, np.ones(96), END, source=METER)
    save(db, np.ones(96), END, source=OTHER_METER)
    db.delete(db.get(DataSource, OTHER_METER))
    db.commit()
    assert count_rows(db) == 96
    db.delete(db.get(Sensor, sensor.id))
    db.commit()
    assert count_rows(db) == 0


def test_concurrent_writers_of_overlapping_data_both_succeed(app, db, sensor):
    """Two writers posting the same day in opposite orders: no deadlock, no duplicates."""
    from concurrent.futures import ThreadPoolExecutor

    from bvp.data.db import Session
    from bvp.data.transactional import transactional

    def write(order):
        try:
            for attempt in range(3):
                with transactional() as session:
                    save_beliefs(
                        session,
                        {"event_start": QUARTERS[order], "event_value": np.full(96, attempt)},
                        sensor_id=sensor.id,
                        source_id=METER,
                        belief_time=END,
                    )
        finally:
            Session.remove()

    forwards, backwards = np.arange(96), np.arange(96)[::-1]
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(write, forwards), pool.submit(write, backwards)]:
            future.result(timeout=60)
    assert count_rows(db) == 96
    assert (latest_beliefs(db, sensor.id, START, END)["event_value"] == 2.0).all()


def test_the_newest_measurement_follows_writes_and_deletes_but_not_forecasts(db, sensor):
    """Where a sensor's next forecasts start: the end of its newest measured event, kept
    as beliefs are stored and found again whatever deletes them."""
    from bvp.data.models import DataSource
    from bvp.data.models.beliefs import last_measured_event_start, last_measured_event_starts

    forecaster = DataSource(name="BVP", type="forecaster", model="naive-1d", version="2")
    db.add(forecaster)
    db.commit()
    assert last_measured_event_start(db, sensor.id) is None
    save(db, np.ones(96), END)  # the meter: the whole day
    save(db, np.ones(48), END, source=OTHER_METER, events=QUARTERS[:48])  # the morning
    tomorrow = pd.date_range(END, periods=96, freq="15min")
    save(db, np.ones(96), END, source=forecaster.id, events=tomorrow)
    assert last_measured_event_start(db, sensor.id) == QUARTERS[-1]  # not the forecasts'
    save(db, np.ones(4), END + pd.Timedelta(hours=1), events=tomorrow[:4])  # measured on
    assert last_measured_event_start(db, sensor.id) == tomorrow[3]
    save(db, np.ones(4), END, events=QUARTERS[:4])  # the past again: the newest stays
    assert last_measured_event_start(db, sensor.id) == tomorrow[3]

    db.delete(db.get(DataSource, METER))  # its beliefs go with it (a trigger)
    db.commit()
    assert last_measured_event_starts(db, [sensor.id]) == {sensor.id: QUARTERS[47]}
    db.execute(TimedBelief.__table__.delete().where(TimedBelief.source_id == OTHER_METER))
    db.commit()
    assert last_measured_event_start(db, sensor.id) is None  # only forecasts left
    assert count_rows(db) == 96
