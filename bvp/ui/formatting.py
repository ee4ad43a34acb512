"""How the dashboard writes times, durations and numbers: local time with its UTC offset
always visible, ages a person reads at a glance, and a dash for what is unknown."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup

from bvp.data.utc import iso_duration

UNKNOWN = "—"


def utc_offset_label(offset: timedelta | None) -> str:
    """timedelta(hours=-6) -> 'UTC−06:00' (a real minus sign, as people write it)."""
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def local_time(moment: datetime | None, timezone: str = "UTC") -> Markup | str:
    """A ``<time>`` element: the local wall clock and its offset, the exact instant in
    its ``datetime`` attribute."""
    if moment is None:
        return UNKNOWN
    local = moment.astimezone(ZoneInfo(timezone))
    text = f"{local:%Y-%m-%d %H:%M} {utc_offset_label(local.utcoffset())}"
    return Markup('<time datetime="{}">{}</time>').format(local.isoformat(), text)


def age(delta: timedelta | None) -> str:
    """How long ago, roughly: '12 min ago', '3 h ago', '5 d ago'."""
    if delta is None:
        return UNKNOWN
    seconds = delta.total_seconds()
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400):,} d ago"


def seconds_text(seconds: float | None) -> str:
    """42 -> '42 s', 210 -> '3.5 min', 7200 -> '2.0 h'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return UNKNOWN
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def number(value: float | None, digits: int = 3) -> str:
    """Significant digits, thousands separated; a dash for unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return UNKNOWN
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"


def percent(fraction: float | None, digits: int = 1) -> str:
    if fraction is None or not math.isfinite(fraction):
        return UNKNOWN
    return f"{fraction * 100:.{digits}f} %"


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_time=local_time,
        age=age,
        seconds=seconds_text,
        number=number,
        percent=percent,
        iso_duration=iso_duration,
    )
