"""Percentiles of durations, as reported (None when there is nothing to report)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd


def percentile(values: pd.Series, q: float) -> timedelta | None:
    values = values.dropna()
    return None if values.empty else pd.Timedelta(values.quantile(q)).to_pytimedelta()


def seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()
