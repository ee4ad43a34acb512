"""Charts: times in the sensor's zone with the offset in view, right across DST changes."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd

from bvp.ui.charts import SensorReadings, TimeAxis, figure_json, sensor_figure
from bvp.ui.formatting import utc_offset_label

# Denver's clocks go back from 02:00 MDT (UTC−06:00) to 01:00 MST (UTC−07:00).
DST_ENDS = pd.Timestamp("2016-11-06T08:00Z")


def readings(start: str, end: str) -> SensorReadings:
    events = pd.date_range(start, end, freq="15min", inclusive="left")
    values = pd.Series(range(len(events)), index=events, dtype=float)
    band = pd.DataFrame({0.1: values - 1, 0.9: values + 1})
    return SensorReadings(values, values + 0.5, band)


def test_offsets_are_written_as_people_write_them():
    assert utc_offset_label(timedelta(hours=-6)) == "UTC−06:00"
    assert utc_offset_label(timedelta(hours=5, minutes=45)) == "UTC+05:45"
    assert utc_offset_label(timedelta(0)) == "UTC+00:00"


def test_a_series_across_the_autumn_dst_change_keeps_every_point_in_order():
    start, end = pd.Timestamp("2016-11-05T06:00Z"), pd.Timestamp("2016-11-08T07:00Z")
    figure = sensor_figure(
        readings("2016-11-05T06:00Z", "2016-11-08T07:00Z"), "kW", "America/Denver", start, end
    )
    measured = next(t for t in figure.data if t.name == "measured")
    # 3 local days and the repeated hour: 73 hours, each once, in order, evenly spaced.
    assert len(measured.x) == 73 * 4
    positions = pd.DatetimeIndex(measured.x)
    assert positions.is_monotonic_increasing and positions.is_unique
    assert set(positions.to_series().diff().dropna()) == {pd.Timedelta(minutes=15)}
    # Hover text: the exact local time with the offset in force, both 01:15s told apart.
    assert "2016-11-06T01:15:00-06:00" in measured.customdata
    assert "2016-11-06T01:15:00-07:00" in measured.customdata
    assert list(measured.customdata).index("2016-11-06T01:15:00-06:00") + 4 == list(
        measured.customdata
    ).index("2016-11-06T01:15:00-07:00")
    # The axis is in the offset at the window's end, and the change is marked.
    title = figure.layout.xaxis.title.text
    assert title.startswith("time (America/Denver, UTC−07:00")
    assert "clocks changed" in title
    assert [a.text for a in figure.layout.annotations] == ["clocks UTC−06:00 → UTC−07:00"]
    assert figure.layout.shapes[0].x0 == "2016-11-06T01:00:00"  # 08:00 UTC at UTC−07:00
    assert list(figure.layout.xaxis.range) == ["2016-11-04T23:00:00", "2016-11-08T00:00:00"]


def test_a_spring_change_is_marked_too_and_a_quiet_window_has_no_marks():
    axis = TimeAxis.at("Europe/Amsterdam", pd.Timestamp("2024-04-01T00:00Z"))
    changes = axis.clock_changes(
        pd.Timestamp("2024-03-30T00:00Z"), pd.Timestamp("2024-04-01T00:00Z")
    )
    assert changes == [(pd.Timestamp("2024-03-31T01:00Z"), "UTC+01:00 → UTC+02:00")]
    assert axis.title == "time (Europe/Amsterdam, UTC+02:00)"
    assert (
        axis.clock_changes(pd.Timestamp("2024-06-01T00:00Z"), pd.Timestamp("2024-06-08T00:00Z"))
        == []
    )


def test_the_band_is_drawn_as_a_filled_area_between_p10_and_p90():
    start, end = pd.Timestamp("2024-06-01T00:00Z"), pd.Timestamp("2024-06-02T00:00Z")
    figure = sensor_figure(
        readings("2024-06-01T00:00Z", "2024-06-02T00:00Z"), "kW", "UTC", start, end
    )
    upper, lower = figure.data[0], figure.data[1]
    assert (upper.name, upper.fill, upper.showlegend) == ("forecast p90", None, False)
    assert (lower.name, lower.fill) == ("forecast p10–p90", "tonexty")
    assert list(lower.x) == list(upper.x) and len(lower.x) == 96
    assert all(lo < hi for lo, hi in zip(lower.y, upper.y, strict=True))


def test_figure_json_cannot_end_its_script_element():
    start, end = pd.Timestamp("2024-06-01T00:00Z"), pd.Timestamp("2024-06-02T00:00Z")
    unit = "</script><script>alert(1)</script>"
    text = str(
        figure_json(
            sensor_figure(
                readings("2024-06-01T00:00Z", "2024-06-02T00:00Z"), unit, "UTC", start, end
            )
        )
    )
    assert "<" not in text and ">" not in text
    assert json.loads(text)["layout"]["yaxis"]["title"]["text"] == (
        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    )
