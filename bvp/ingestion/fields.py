"""Manifest field types: durations as people write them ("PT2H", "2 hours"), schedules,
time zones, units and regular expressions, each checked when the manifest is loaded."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

from bvp.data.units import is_known, unknown_unit_message
from bvp.data.utc import is_time_zone, parse_duration

_WORDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)
_SCHEDULES = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=31),  # the longest month: late only when surely late
}


def parse_human_duration(text: str) -> timedelta:
    """'PT2H', '2 hours', '90 minutes', '1 day' -> timedelta."""
    match = _WORDS.match(text)
    if match:
        return timedelta(**{f"{match.group(2).lower()}s": float(match.group(1))})
    try:
        return parse_duration(text, zero=True)  # a lag of PT0S is no lag
    except ValueError:
        raise ValueError(
            f"{text!r} is not a duration; write e.g. 'PT2H', '2 hours' or '1 day'"
        ) from None


def schedule_period(schedule: str | None) -> timedelta | None:
    """How often a publication schedule publishes, if it says so in a way we can read.

    'daily', 'hourly', 'weekly', 'monthly' (optionally followed by more words, e.g.
    'daily at 12:00 CET'), or a duration. Anything else is shown but not checked.
    """
    if not schedule:
        return None
    first = schedule.strip().split()[0].lower().rstrip(",")
    if first in _SCHEDULES:
        return _SCHEDULES[first]
    try:
        return parse_human_duration(schedule)
    except ValueError:
        return None


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as error:
        raise ValueError(f"not a regular expression: {error}") from None
    return text


def _duration(text: str) -> str:
    parse_human_duration(text)
    return text


def _timezone(name: str) -> str:
    if not is_time_zone(name):
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


def _unit(text: str) -> str:
    if not is_known(text):
        raise ValueError(unknown_unit_message(text))
    return text


Regex = Annotated[str, AfterValidator(_regex)]
Unit = Annotated[str, AfterValidator(_unit)]
Duration = Annotated[str, AfterValidator(_duration)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
