"""Bringing a regular series onto a sensor's resolution.

Rates (power, temperature, prices) are averaged when made coarser and repeated when
made finer; energy is summed when made coarser and split evenly when made finer. So
an hour of 4 kW becomes four quarter-hours of 4 kW, and 4 kWh becomes four of 1 kWh.
Resolutions that do not divide one another are refused.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd


class ResolutionError(ValueError):
    def __init__(self, message: str, field: str = "resolution"):
        self.field = field
        super().__init__(f"{field}: {message}")


def to_resolution(
    start: pd.Timestamp,
    values: np.ndarray,
    given: timedelta,
    wanted: timedelta,
    is_rate: bool,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Event starts and values at ``wanted`` for ``values`` given every ``given`` from start.

    NaN (a missing value) stays missing: a coarser event with any missing part is missing.
    """
    if given == wanted:
        return pd.date_range(start, periods=len(values), freq=given), values
    if given > wanted:
        ratio, remainder = divmod(given, wanted)
        if remainder:
            raise ResolutionError(f"{_iso(given)} cannot be split into {_iso(wanted)} steps")
        finer = np.repeat(values, ratio)
        if not is_rate:
            finer = finer / ratio
        return pd.date_range(start, periods=len(finer), freq=wanted), finer
    ratio, remainder = divmod(wanted, given)
    if remainder:
        raise ResolutionError(f"{_iso(given)} steps do not add up to {_iso(wanted)}")
    if len(values) % ratio:
        raise ResolutionError(
            f"{len(values)} values of {_iso(given)} do not fill whole {_iso(wanted)} events",
            "values",
        )
    blocks = values.reshape(-1, ratio)
    coarser = blocks.mean(axis=1) if is_rate else blocks.sum(axis=1)  # NaN propagates
    return pd.date_range(start, periods=len(coarser), freq=wanted), coarser


def _iso(duration: timedelta) -> str:
    return pd.Timedelta(duration).isoformat()
