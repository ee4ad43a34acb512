"""Horizons and what serves them: a fit per whole number of days ahead (``reach``),
and one forecasting job for all the configured horizons a fit serves alike.

Light on purpose: the API imports it to enqueue jobs, without the model libraries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

DAY = timedelta(days=1)


def reach(horizon: timedelta) -> timedelta:
    """The horizon a fit is made and stored for: whole days up. A model reads the lags
    known for every event up to its horizon (whole days back), so one fit for a day
    serves the hour-, six-hour- and day-ahead forecasts alike."""
    return -(-horizon // DAY) * DAY


def covering_horizons(horizons: Iterable[timedelta]) -> list[timedelta]:
    """The horizons worth a job each: of those with the same reach, the longest.

    Its forecast holds every event of the shorter ones, from the same origin (the
    beliefs' time), the same fit and the same lags, so it stores exactly the values
    their jobs would store: PT1H, PT6H and P1D take one job, not three. Horizons of
    another reach (P2D) read other lags, and keep jobs of their own.
    """
    longest: dict[timedelta, timedelta] = {}
    for horizon in horizons:
        group = reach(horizon)
        longest[group] = max(horizon, longest.get(group, horizon))
    return sorted(longest.values())
