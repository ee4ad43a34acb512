"""Charts: times in the sensor's zone with the offset in view, right across DST changes."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd

from bvp.ui.charts import SensorReadings, TimeAxis, figure_json, sensor_caption, sensor_figure
from bvp.ui.formatting import utc_offset_label

# Denver's clocks go back from 02:00 MDT (UTC−06:00) to 01:00 MST (UTC−07:00).
DST_ENDS = pd.Timestamp("2016-11-06T08:00Z")
QUARTER = timedelta(minutes=15)


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
        readings("2016-11-05T06:00Z", "2016-11-08T07:00Z"),
        "kW",
        "America/Denver",
        start,
        end,
        resolution=QUARTER,
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
        readings("2024-06-01T00:00Z", "2024-06-02T00:00Z"),
        "kW",
        "UTC",
        start,
        end,
        resolution=QUARTER,
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
                readings("2024-06-01T00:00Z", "2024-06-02T00:00Z"),
                unit,
                "UTC",
                start,
                end,
                resolution=QUARTER,
            )
        )
    )
    assert "<" not in text and ">" not in text
    assert json.loads(text)["layout"]["yaxis"]["title"]["text"] == (
        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    )


def test_a_gap_in_the_measurements_is_a_gap_in_the_line_not_a_ramp_across_it():
    # Measured up to 05:00 on Oct 13 (Denver), then nothing until midnight: 19 hours.
    before = pd.date_range("2016-10-12T06:00Z", "2016-10-13T11:00Z", freq="15min", inclusive="left")
    after = pd.date_range("2016-10-14T06:00Z", "2016-10-14T12:00Z", freq="15min", inclusive="left")
    events = before.append(after)
    measured = pd.Series(1.0, index=events)
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    figure = sensor_figure(
        SensorReadings(measured, empty, pd.DataFrame({0.1: empty, 0.9: empty})),
        "kW",
        "America/Denver",
        events[0],
        events[-1] + QUARTER,
        resolution=QUARTER,
    )
    drawn = json.loads(str(figure_json(figure)))["data"]  # as the browser gets it
    line = next(t for t in drawn if t["name"] == "measured")
    assert line["connectgaps"] is False
    gap_start = line["customdata"].index("2016-10-13T05:00:00-06:00")
    gap_end = line["customdata"].index("2016-10-14T00:00:00-06:00")
    # Every missing quarter-hour is there, as null: plotly breaks the line on it.
    assert gap_end - gap_start == 19 * 4
    assert line["y"][gap_start:gap_end] == [None] * (19 * 4)
    assert line["y"][gap_start - 1] == 1.0 and line["y"][gap_end] == 1.0
    assert sum(v is not None for v in line["y"]) == len(events)


def test_a_gap_in_the_forecast_band_is_left_unshaded():
    events = pd.date_range("2024-06-01T00:00Z", periods=8, freq="15min").delete([3, 4])
    p50 = pd.Series(2.0, index=events)
    band = pd.DataFrame({0.1: p50 - 1, 0.9: p50 + 1})
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    figure = sensor_figure(
        SensorReadings(empty, p50, band),
        "kW",
        "UTC",
        events[0],
        events[-1] + QUARTER,
        resolution=QUARTER,
    )
    # One shaded area before the gap and one after: none spans it.
    areas = [t for t in figure.data if t.fill == "tonexty"]
    assert [list(t.x) for t in areas] == [
        ["2024-06-01T00:00:00", "2024-06-01T00:15:00", "2024-06-01T00:30:00"],
        ["2024-06-01T01:15:00", "2024-06-01T01:30:00", "2024-06-01T01:45:00"],
    ]
    assert [t.showlegend for t in areas] == [True, False]  # one legend entry for the band
    p50_line = next(t for t in figure.data if t.name == "forecast p50")
    assert len(p50_line.y) == 8 and pd.isna(p50_line.y[3]) and pd.isna(p50_line.y[4])


def test_the_caption_names_the_band_only_when_there_is_one():
    full = readings("2024-06-01T00:00Z", "2024-06-02T00:00Z")
    assert sensor_caption(full, "PV", "kW", "UTC") == (
        "Measured PV (kW), the median (p50) forecast as a dashed line and the p10–p90 forecast "
        "band shaded, in UTC time. Hover a point for its exact local time."
    )
    no_band = SensorReadings(full.measured, full.forecast, full.band.iloc[0:0])
    caption = sensor_caption(no_band, "PV", "kW", "UTC")
    assert "p10" not in caption and "band" not in caption
    assert caption.startswith("Measured PV (kW) and the median (p50) forecast as a dashed line")
    measured_only = SensorReadings(full.measured, full.forecast.iloc[0:0], full.band.iloc[0:0])
    assert sensor_caption(measured_only, "PV", "kW", "UTC") == (
        "Measured PV (kW), in UTC time. Hover a point for its exact local time."
    )
