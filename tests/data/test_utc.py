"""UTC at every boundary: naive datetimes are refused, offsets and DST are honoured."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from bvp.data.utc import NaiveDatetimeError, to_utc, to_utc_index

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_iso_string_with_offset_becomes_utc():
    assert to_utc("2024-03-31T03:00:00+02:00") == datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert to_utc("2024-03-31T01:00:00Z") == datetime(2024, 3, 31, 1, tzinfo=UTC)


def test_naive_datetime_is_a_clear_error_naming_the_field():
    with pytest.raises(NaiveDatetimeError, match="start: 2024-03-31 02:00:00 has no UTC offset"):
        to_utc(datetime(2024, 3, 31, 2), "start")
    with pytest.raises(NaiveDatetimeError, match="has no UTC offset"):
        to_utc("2024-03-31T02:00:00", "start")


def test_garbage_is_not_a_datetime():
    with pytest.raises(ValueError, match="'yesterday' is not an ISO 8601 datetime"):
        to_utc("yesterday", "start")


@pytest.mark.parametrize(
    ("local_day", "expected_quarter_hours"),
    [("2024-03-31", 92), ("2024-10-27", 100), ("2024-06-01", 96)],
)
def test_local_days_across_dst_changes_keep_every_quarter_hour(local_day, expected_quarter_hours):
    day = pd.Timestamp(local_day, tz=AMSTERDAM)
    next_day = day + pd.DateOffset(days=1)  # the next local midnight: 23 h or 25 h later
    local = pd.date_range(day, next_day, freq="15min", inclusive="left")
    strings = [t.isoformat() for t in local]  # offsets change mid-list on DST days
    utc = to_utc_index(strings)
    assert len(utc) == expected_quarter_hours
    assert (utc[1:] - utc[:-1] == pd.Timedelta(minutes=15)).all()  # no gap, no overlap
    assert utc[0] == day.tz_convert("UTC")


def test_naive_value_in_a_list_is_named():
    values = ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00", "2024-10-27T02:15:00+01:00"]
    with pytest.raises(NaiveDatetimeError, match="event_start: 2024-10-27T02:00:00 has no"):
        to_utc_index(values, "event_start")


def test_date_without_time_is_not_mistaken_for_an_offset():
    with pytest.raises(NaiveDatetimeError):
        to_utc_index(["2024-03-31"])


def test_aware_datetimes_in_other_zones_convert():
    values = [datetime(2024, 10, 27, 2, 30, tzinfo=AMSTERDAM, fold=f) for f in (0, 1)]
    utc = to_utc_index(values)
    assert list(utc) == [
        pd.Timestamp("2024-10-27T00:30Z"),
        pd.Timestamp("2024-10-27T01:30Z"),
    ]
    assert utc[1] - utc[0] == timedelta(hours=1)
