"""The date anchor picks the last full calendar month before it, in the right zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from bvp.data.utc import NaiveDatetimeError
from bvp.metrics.months import date_anchor, month_before, month_in


def test_an_anchor_early_in_march_reports_february():
    anchor = date_anchor("2024-03-05T10:00+01:00")
    february = month_before(anchor, "UTC")
    assert february.label == "2024-02"
    assert february.start == pd.Timestamp("2024-02-01T00:00Z")
    assert february.end == pd.Timestamp("2024-03-01T00:00Z")


def test_months_are_calendar_months_in_the_accounts_zone():
    # 00:30 on 1 March in Amsterdam is still February in UTC.
    anchor = date_anchor("2024-03-01T00:30+01:00")
    assert month_before(anchor, "Europe/Amsterdam").label == "2024-02"
    assert month_before(anchor, "UTC").label == "2024-01"
    amsterdam = month_in("2024-02", "Europe/Amsterdam")
    assert amsterdam.start == pd.Timestamp("2024-01-31T23:00Z")
    assert amsterdam.end == pd.Timestamp("2024-02-29T23:00Z")


def test_dst_months_are_an_hour_short_or_long():
    march = month_in("2024-03", "Europe/Amsterdam")
    october = month_in("2024-10", "Europe/Amsterdam")
    assert march.end - march.start == pd.Timedelta(hours=31 * 24 - 1)
    assert october.end - october.start == pd.Timedelta(hours=31 * 24 + 1)


def test_january_reports_last_december_and_now_is_the_default():
    assert month_before(date_anchor("2025-01-10T00:00Z"), "UTC").label == "2024-12"
    assert abs(date_anchor("") - datetime.now(UTC)).total_seconds() < 5


def test_a_naive_anchor_or_a_bad_month_is_refused():
    with pytest.raises(NaiveDatetimeError, match="DATE_ANCHOR"):
        date_anchor("2024-03-05T10:00")
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_in("2024-13", "UTC")
