"""Plotly figures for the dashboard, built here and drawn in the browser by plotly.js.

Times on a sensor's chart are the sensor's local time with the offset in view. Plotly
has no time zones, so the x axis is a fixed UTC offset (the one at the window's end, named
in the axis title): every point sits at its true instant, also across a DST change,
where a dotted line marks the moment the local clocks changed. Hovering a point shows
its exact local timestamp in ISO 8601 with the offset it had then.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io
from markupsafe import Markup

from bvp.ui.formatting import utc_offset_label

# Values go to plotly as plain lists (not typed arrays), so the page's plot data is
# readable as numbers (tests and people in the browser console look at it).
MEASURED_COLOUR = "#1f2937"
FORECAST_COLOUR = "#1d4ed8"
BAND_COLOUR = "rgba(29, 78, 216, 0.18)"


@dataclass
class SensorReadings:
    """What a sensor's chart shows: series indexed by aware UTC event starts."""

    measured: pd.Series
    forecast: pd.Series  # p50
    band: pd.DataFrame  # columns 0.1 and 0.9 of the same forecasts as the p50

    @property
    def empty(self) -> bool:
        return self.measured.empty and self.forecast.empty


@dataclass(frozen=True)
class TimeAxis:
    """A sensor's local time, drawn at one fixed offset."""

    timezone: str
    offset: timedelta

    @classmethod
    def at(cls, timezone: str, moment: datetime) -> TimeAxis:
        return cls(timezone, pd.Timestamp(moment).tz_convert(timezone).utcoffset())

    @property
    def title(self) -> str:
        return f"time ({self.timezone}, {utc_offset_label(self.offset)})"

    def positions(self, index: pd.DatetimeIndex) -> list[str]:
        """Where instants sit on the axis: wall clock at the axis offset, no offset text
        (plotly would drop it anyway)."""
        shifted = index.tz_convert("UTC").tz_localize(None) + self.offset
        return list(shifted.strftime("%Y-%m-%dT%H:%M:%S"))

    def local_timestamps(self, index: pd.DatetimeIndex) -> list[str]:
        """Exact local ISO 8601 timestamps, each with the offset in force at the time."""
        return [moment.isoformat() for moment in index.tz_convert(self.timezone)]

    def clock_changes(self, start: datetime, end: datetime) -> list[tuple[pd.Timestamp, str]]:
        """Instants in [start, end) where the local offset changes, with 'before → after'."""
        grid = pd.date_range(
            pd.Timestamp(start).floor("15min"), pd.Timestamp(end), freq="15min", tz="UTC"
        )
        if len(grid) < 2:
            return []
        local = grid.tz_convert(self.timezone)
        offsets = pd.Series(local.tz_localize(None) - grid.tz_localize(None))
        changed = offsets.ne(offsets.shift()).to_numpy()
        changed[0] = False
        return [
            (
                grid[i],
                f"{utc_offset_label(offsets.iloc[i - 1])} → {utc_offset_label(offsets.iloc[i])}",
            )
            for i in changed.nonzero()[0]
        ]


def sensor_figure(
    readings: SensorReadings,
    unit: str,
    timezone: str,
    start: datetime,
    end: datetime,
    *,
    resolution: timedelta,
) -> go.Figure:
    """Measurements, the p50 forecast and its p10–p90 band over [start, end).

    Each series is drawn on the sensor's grid (``resolution``), with a null for every
    missing event, and plotly leaves those out: a gap in the data is a gap in its line,
    not a straight ramp from the last value before it to the first after. The band is
    drawn as one shaded area per stretch without a gap (plotly's fill between two traces
    would bridge a gap with a slanted area).
    """
    axis = TimeAxis.at(timezone, end - timedelta(microseconds=1))
    value = f"%{{y:.4~g}} {html.escape(unit)}"
    figure = go.Figure()
    for run, band in enumerate(stretches(readings.band.dropna(), resolution)):
        # Upper edge first, then the lower edge filled up to it: one shaded area.
        for probability, name, fill, legend in (
            (0.9, "p90", None, False),
            (0.1, "p10–p90", "tonexty", run == 0),
        ):
            figure.add_scatter(
                x=axis.positions(band.index),
                y=band[probability].tolist(),
                customdata=axis.local_timestamps(band.index),
                name=f"forecast {name}",
                legendgroup="band",
                legendrank=3,  # listed after the two lines
                mode="lines",
                line={"width": 0, "color": BAND_COLOUR},
                fill=fill,
                fillcolor=BAND_COLOUR,
                showlegend=legend,
                hovertemplate=f"%{{customdata}}<br>{name}: {value}<extra></extra>",
            )
    for series, name, line, rank in (
        (
            readings.forecast,
            "forecast p50",
            {"color": FORECAST_COLOUR, "width": 2, "dash": "dash"},
            2,
        ),
        (readings.measured, "measured", {"color": MEASURED_COLOUR, "width": 2}, 1),
    ):
        if series.empty:
            continue
        series = on_grid(series, resolution)
        figure.add_scatter(
            x=axis.positions(series.index),
            y=series.tolist(),
            customdata=axis.local_timestamps(series.index),
            name=name,
            mode="lines",
            line=line,
            legendrank=rank,
            connectgaps=False,
            hovertemplate=f"%{{customdata}}<br>{name}: {value}<extra></extra>",
        )
    title = axis.title
    changes = axis.clock_changes(start, end)
    for moment, label in changes:
        position = axis.positions(pd.DatetimeIndex([moment]))[0]
        figure.add_vline(x=position, line={"dash": "dot", "width": 1, "color": "#6b7280"})
        figure.add_annotation(
            x=position, y=1, yref="paper", text=f"clocks {label}", showarrow=False, yanchor="bottom"
        )
    if changes:
        title += "; local clocks changed at the dotted line"
    window = axis.positions(pd.DatetimeIndex([start, end]))
    figure.update_layout(
        xaxis={"title": {"text": title}, "type": "date", "range": window},
        yaxis={"title": {"text": html.escape(unit)}, "rangemode": "tozero"},
        **_common_layout(),
    )
    return figure


def on_grid(series: pd.Series | pd.DataFrame, resolution: timedelta):
    """``series`` with a NaN row for every event of the grid through its first event that
    it lacks, up to its last (its own events all kept, also any off that grid)."""
    if len(series.index) < 2:
        return series
    grid = pd.date_range(series.index[0], series.index[-1], freq=resolution)
    return series.reindex(series.index.union(grid))


def stretches(frame: pd.DataFrame, resolution: timedelta) -> list[pd.DataFrame]:
    """``frame`` cut where a step between its rows is longer than ``resolution``."""
    steps = frame.index.to_series().diff().to_numpy()
    cuts = [0, *np.flatnonzero(steps > np.timedelta64(resolution)).tolist(), len(frame)]
    return [frame.iloc[a:b] for a, b in pairwise(cuts) if b > a]


def sensor_caption(readings: SensorReadings, name: str, unit: str, timezone: str) -> str:
    """What the sensor's chart shows, and only that: the forecast's line and band are
    named only when the chart has them."""
    shown = []
    if not readings.measured.empty:
        shown.append(f"Measured {name} ({unit})")
    if not readings.forecast.empty:
        forecast = "the median (p50) forecast as a dashed line"
        shown.append(forecast if shown else f"{name} ({unit}): {forecast}")
    if not readings.band.dropna().empty:
        shown.append("the p10–p90 forecast band shaded")
    if not shown:
        return ""
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f"{listed}, in {timezone} time. Hover a point for its exact local time."


def accuracy_figure(rows: list[dict]) -> go.Figure:
    """MASE per month, one line per sensor, model and horizon."""
    figure = go.Figure()
    frame = pd.DataFrame(rows)
    if frame.empty:
        return figure
    frame["horizon_length"] = frame["horizon"].map(pd.Timedelta)
    lines = frame.sort_values(["sensor_id", "horizon_length", "model", "month"]).groupby(
        ["sensor_id", "horizon_length", "model"], sort=False
    )
    for _, line in lines:
        first = line.iloc[0]
        name = html.escape(f"{first['sensor']} · {first['horizon']} · {first['model']}")
        figure.add_scatter(
            x=line["month"].tolist(),
            y=line["mase"].astype(float).tolist(),
            customdata=line["forecasts"].tolist(),
            name=name,
            mode="lines+markers",
            hovertemplate=f"{name}<br>%{{x}}: MASE %{{y:.3f}} (%{{customdata}} forecasts)"
            "<extra></extra>",
        )
    figure.update_layout(
        xaxis={"title": {"text": "month"}, "type": "category"},
        yaxis={"title": {"text": "MASE (lower is better)"}, "rangemode": "tozero"},
        **_common_layout(),
    )
    return figure


def _common_layout() -> dict:
    return {
        "margin": {"l": 60, "r": 20, "t": 30, "b": 60},
        "legend": {"orientation": "h", "y": -0.25},
        "hovermode": "closest",
        "template": "plotly_white",
        "height": 420,
    }


def figure_json(figure: go.Figure) -> Markup:
    """The figure as JSON that is safe inside a ``<script type="application/json">``."""
    text = plotly.io.to_json(figure, validate=False)
    for character, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(character, escaped)
    return Markup(text)  # every character that could end the script element is escaped
