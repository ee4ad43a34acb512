"""Which month a report is about: the last full calendar month before the date anchor.

The anchor is "now" for reporting purposes (``DATE_ANCHOR``, ISO 8601 with an offset;
default the real now), so a report can be made again, later, exactly as it was. The
month is a calendar month in a time zone (an account's, or UTC): its bounds are that
zone's midnights, so a month with a DST change is an hour shorter or longer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from bvp.data.utc import to_utc, utcnow

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Month:
    label: str  # YYYY-MM
    timezone: str
    start: pd.Timestamp  # UTC, inclusive: local midnight on the 1st
    end: pd.Timestamp  # UTC, exclusive: local midnight on the next 1st


def date_anchor(text: str | None) -> datetime:
    """The anchor from its ISO 8601 text (naive refused); empty: the real now."""
    if not text:
        return utcnow()
    return to_utc(text, "DATE_ANCHOR")


def month_before(anchor: datetime, timezone: str) -> Month:
    """The last full calendar month before ``anchor``, in ``timezone``."""
    local = pd.Timestamp(anchor).tz_convert(timezone)
    this_month = pd.Timestamp(year=local.year, month=local.month, day=1)
    previous = this_month - pd.DateOffset(months=1)
    return month_in(f"{previous.year:04d}-{previous.month:02d}", timezone)


def month_in(label: str, timezone: str) -> Month:
    """The calendar month ``YYYY-MM`` in ``timezone``."""
    match = MONTH.match(label)
    if not match:
        raise ValueError(f"{label!r} is not a month; write YYYY-MM, e.g. 2024-02")
    first = pd.Timestamp(year=int(match[1]), month=int(match[2]), day=1)
    start = first.tz_localize(timezone).tz_convert("UTC")
    end = (first + pd.DateOffset(months=1)).tz_localize(timezone).tz_convert("UTC")
    return Month(label, timezone, start, end)
