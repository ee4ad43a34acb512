"""timed_belief is partitioned by month; partitions appear as data for a month arrives."""

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import text

from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.db import Session, get_engine
from bvp.data.partitions import ensure_partitions, list_partitions, partition_name

METER = 1


def quarters(start: str, periods: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=periods, freq="15min")


def save(session, events, values, belief_time="2040-01-01T00:00Z"):
    return save_beliefs(
        session,
        {"event_start": events, "event_value": values},
        sensor_id=1,
        source_id=METER,
        belief_time=pd.Timestamp(belief_time),
    )


def partition_of_each_row(db) -> dict[str, int]:
    rows = db.execute(
        text("SELECT tableoid::regclass::text, count(*) FROM timed_belief GROUP BY 1")
    )
    return dict(rows.all())


def test_a_batch_across_a_month_boundary_lands_in_one_partition_per_month(db, sensor):
    # The last day of March 2037 and the first of April, in UTC.
    events = quarters("2037-03-31T00:00Z", 192)
    result = save(db, events, np.arange(192.0))
    db.commit()

    assert result.created == 192
    assert partition_of_each_row(db) == {"timed_belief_y2037m03": 96, "timed_belief_y2037m04": 96}
    frame = latest_beliefs(db, sensor.id, events[0], events[-1] + pd.Timedelta("15min"))
    np.testing.assert_array_equal(frame["event_value"], np.arange(192.0))


def test_a_month_is_decided_in_utc_not_in_the_sensors_time_zone(db, sensor):
    # 1 May 2037 00:30 in Amsterdam is still 30 April in UTC.
    events = pd.DatetimeIndex([pd.Timestamp("2037-05-01T00:30", tz="Europe/Amsterdam")])
    save(db, events, [1.0])
    db.commit()
    assert partition_of_each_row(db) == {"timed_belief_y2037m04": 1}


def test_sparse_years_make_only_the_months_that_hold_data(db, sensor):
    events = pd.DatetimeIndex(["1990-06-01T00:00Z", "2090-06-01T00:00Z"])
    save(db, events, [1.0, 2.0])
    db.commit()
    names = {p.name for p in list_partitions(db.connection())}
    assert {"timed_belief_y1990m06", "timed_belief_y2090m06"} <= names
    assert not any(name.startswith("timed_belief_y2000") for name in names)


def test_writing_to_a_month_that_exists_makes_nothing(db, sensor):
    events = quarters("2038-02-10T00:00Z", 4)
    save(db, events, np.zeros(4))
    db.commit()
    assert ensure_partitions(db, events.values) == []
    again = save(db, events, np.ones(4))
    assert (again.created, again.updated, again.unchanged) == (0, 4, 0)


def test_a_transaction_that_already_wrote_can_add_a_month_and_roll_it_all_back(db, sensor):
    save(db, quarters("2038-06-01T00:00Z", 4), np.zeros(4))
    # July 2038 has no partition yet: another connection makes it mid-transaction.
    save(db, quarters("2038-07-01T00:00Z", 4), np.zeros(4))
    assert partition_of_each_row(db) == {"timed_belief_y2038m06": 4, "timed_belief_y2038m07": 4}
    db.rollback()

    assert partition_of_each_row(db) == {}
    # The empty partition stays and takes the next write to its month.
    assert partition_name(np.datetime64("2038-07")) in {
        p.name for p in list_partitions(db.connection())
    }
    save(db, quarters("2038-07-01T00:00Z", 4), np.ones(4))
    db.commit()
    assert partition_of_each_row(db) == {"timed_belief_y2038m07": 4}


def test_writers_racing_into_a_new_month_make_it_once_and_store_everything(db, sensor):
    month = "2039-09"
    barrier = threading.Barrier(4)
    results, errors = [], []

    def write(offset: int) -> None:
        session = Session.session_factory(bind=get_engine())
        try:
            barrier.wait(timeout=10)
            events = quarters(f"{month}-01T00:00Z", 96) + pd.Timedelta(days=offset)
            results.append(save(session, events, np.full(96, float(offset))).created)
            session.commit()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            session.close()

    threads = [threading.Thread(target=write, args=(day,)) for day in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [96] * 4
    assert partition_of_each_row(db) == {f"timed_belief_y{month.replace('-', 'm')}": 384}
    assert [p.name for p in list_partitions(db.connection())].count("timed_belief_y2039m09") == 1


def test_deleting_a_sensor_deletes_its_beliefs_in_every_partition(db, sensor):
    save(db, quarters("2037-11-30T12:00Z", 192), np.zeros(192))
    db.commit()
    db.delete(sensor)
    db.commit()
    assert partition_of_each_row(db) == {}


def test_a_partition_is_named_after_its_utc_month_whatever_zone_the_bound_is_read_in():
    march_utc = datetime(2037, 3, 1, tzinfo=UTC)
    assert partition_name(march_utc.astimezone(ZoneInfo("America/New_York"))) == (
        "timed_belief_y2037m03"
    )
    assert partition_name(march_utc.astimezone(ZoneInfo("Pacific/Chatham"))) == (
        "timed_belief_y2037m03"
    )


def test_a_month_whose_partition_an_operator_dropped_is_made_again_on_the_next_write(db, sensor):
    events = quarters("2036-01-10T00:00Z", 4)
    save(db, events, np.zeros(4))
    db.commit()
    with get_engine().begin() as connection:  # retention: the month is dropped
        connection.execute(text("DROP TABLE timed_belief_y2036m01"))

    result = save(db, events, np.ones(4))
    db.commit()
    assert result.created == 4
    assert partition_of_each_row(db) == {"timed_belief_y2036m01": 4}
