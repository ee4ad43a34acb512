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

from bvp.data.utc import iso_duration

MAX_STEPS = 1_000_000  # per request: about 28 years of quarter-hours


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
    given_text, wanted_text = iso_duration(given), iso_duration(wanted)
    if given > wanted:
        ratio, remainder = divmod(given, wanted)
        if remainder:
            raise ResolutionError(
                f"{iso_duration(given)} cannot be split into {iso_duration(wanted)} steps"
            )
        check_steps(len(values) * ratio)
        finer = np.repeat(values, ratio)
        if not is_rate:
            finer = finer / ratio
        return pd.date_range(start, periods=len(finer), freq=wanted), finer
    ratio, remainder = divmod(wanted, given)
    if remainder:
        raise ResolutionError(
            f"{iso_duration(given)} steps do not add up to {iso_duration(wanted)}"
        )
    if len(values) % ratio:
        raise ResolutionError(
            f"{len(values)} values of {given_text} do not fill whole {wanted_text} events",
            "values",
        )
    blocks = values.reshape(-1, ratio)
    coarser = blocks.mean(axis=1) if is_rate else blocks.sum(axis=1)  # NaN propagates
    return pd.date_range(start, periods=len(coarser), freq=wanted), coarser


def check_steps(count: int, field: str = "resolution") -> None:
    """Refuse series longer than MAX_STEPS (memory and time per request stay bounded)."""
    if count > MAX_STEPS:
        raise ResolutionError(
            f"{count:,} steps is more than the {MAX_STEPS:,} one request may cover; "
            "ask for a shorter window or a coarser resolution",
            field,
        )
