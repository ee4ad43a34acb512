"""Monthly metrics on hand-built months give exactly the expected figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from bvp.data.models.job_runs import JobRun
from bvp.metrics.monthly import make_monthly_metrics
from bvp.metrics.months import date_anchor
from bvp.metrics.records import ForecastAccuracy, QueueStats, SensorQuality
from bvp.metrics.reports import accuracy_history, available_months, monthly_report
from tests.conftest import job_settings
from tests.metrics.conftest import store

HORIZONS = [timedelta(hours=1), timedelta(hours=6), timedelta(days=1)]
HOUR = pd.Timedelta(hours=1)


def amsterdam_march(db, hourly):
    """March 2024 in Amsterdam (743 hours: DST starts on the 31st) with two gaps, four
    revisions and 100 late events; plus forecasts inside a gap (not data received)."""
    sensor, meter = hourly["amsterdam"], hourly["meter"]
    hours = pd.date_range(
        "2024-03-01", "2024-04-01", freq="h", tz="Europe/Amsterdam", inclusive="left"
    )
    assert len(hours) == 743
    gap_a = (hours >= pd.Timestamp("2024-03-10 00:00", tz="Europe/Amsterdam")) & (
        hours < pd.Timestamp("2024-03-10 03:00", tz="Europe/Amsterdam")
    )
    gap_b = (hours >= pd.Timestamp("2024-03-20 10:00", tz="Europe/Amsterdam")) & (
        hours < pd.Timestamp("2024-03-20 15:00", tz="Europe/Amsterdam")
    )
    events = hours[~(gap_a | gap_b)].tz_convert("UTC")
    lateness = pd.TimedeltaIndex([pd.Timedelta(minutes=10)] * len(events))
    lateness = lateness.where(pd.RangeIndex(len(events)) % 7 != 0, pd.Timedelta(hours=1))
    late_ones = int((lateness == pd.Timedelta(hours=1)).sum())
    store(db, sensor, meter, events, range(len(events)), events + HOUR + lateness)
    revised = events[100:104]
    store(db, sensor, meter, revised, [1.0] * 4, revised + pd.Timedelta(days=2))
    in_gap = hours[gap_b].tz_convert("UTC")
    store(db, sensor, hourly["ridge"], in_gap, [5.0] * len(in_gap), in_gap - pd.Timedelta(days=1))
    outside = pd.DatetimeIndex([pd.Timestamp("2024-02-29T22:00Z")])  # still February there
    store(db, sensor, meter, outside, [1.0], outside + HOUR)
    return len(events), late_ones


def test_data_quality_of_a_dst_month_with_gaps_revisions_and_late_data(db, hourly):
    received, late_ones = amsterdam_march(db, hourly)
    assert received == 735 and late_ones == 105
    run = make_monthly_metrics(db, date_anchor("2024-04-05T10:00+02:00"), HORIZONS)
    db.commit()
    quality = db.get(SensorQuality, ("2024-03", hourly["amsterdam"].id))
    assert quality.timezone == "Europe/Amsterdam"
    assert quality.month_start == datetime(2024, 2, 29, 23, tzinfo=UTC)
    assert (quality.expected, quality.received) == (743, 735)
    assert quality.completeness == pytest.approx(100 * 735 / 743)
    assert (quality.gaps, quality.longest_gap_seconds) == (2, 5 * 3600)
    assert quality.revisions == 4
    # 630 first beliefs 10 minutes after their event, 105 an hour after.
    assert quality.late_p50_seconds == 600
    assert quality.late_p95_seconds == 3600
    assert run.months[hourly["amsterdam"].asset.account_id].label == "2024-03"


def test_forecast_accuracy_per_model_and_horizon(db, hourly):
    """February 2024, UTC: measured value = hour of day + day of month (so a day-ago
    naive forecast is off by exactly 1, as it was over January's last four weeks: the
    MASE scale); one origin on the 10th, forecasts 2 too high,
    p10 1 below, p90 5 above except from noon on (half a unit below: outside the band)."""
    sensor = hourly["utc"]
    hours = pd.date_range("2024-01-01", "2024-03-01", freq="h", tz="UTC", inclusive="left")
    actual = hours.hour + hours.day
    store(db, sensor, hourly["meter"], hours, actual, hours + HOUR)
    origin = pd.Timestamp("2024-02-10T00:00Z")
    day = pd.date_range(origin, periods=24, freq="h")
    truth = day.hour + day.day
    p90 = [t + 5 if when.hour < 12 else t - 0.5 for when, t in zip(day, truth, strict=True)]
    for probability, values in ((0.5, truth + 2), (0.1, truth - 1), (0.9, p90)):
        store(db, sensor, hourly["ridge"], day, values, [origin] * 24, probability)

    make_monthly_metrics(db, date_anchor("2024-03-05T10:00+01:00"), HORIZONS)
    db.commit()
    rows = {
        r.horizon_seconds: r
        for r in db.scalars(select(ForecastAccuracy).where(ForecastAccuracy.sensor_id == sensor.id))
    }
    assert sorted(rows) == [3600, 6 * 3600, 24 * 3600]
    assert [rows[h].forecasts for h in sorted(rows)] == [1, 5, 18]
    for row in rows.values():
        assert row.model == "ridge"
        assert (row.mae, row.bias, row.mase) == (2.0, 2.0, 2.0)  # naive day-ago MAE is 1
    assert rows[3600].coverage == 1.0 and rows[6 * 3600].coverage == 1.0
    assert rows[24 * 3600].coverage == pytest.approx(6 / 18)
    assert rows[3600].pinball == pytest.approx((1 + 0.1 + 0.5) / 3)
    assert rows[24 * 3600].pinball == pytest.approx((18 * 1 + 18 * 0.1 + 6 * 0.5 + 12 * 0.45) / 54)


def test_queue_health_from_recorded_job_runs(db, hourly):
    base = datetime(2024, 2, 10, tzinfo=UTC)
    for i, status in enumerate(["finished", "finished", "finished", "retried", "failed"]):
        db.add(
            JobRun(
                job_id=f"job-{i}",
                queue="forecasting",
                status=status,
                enqueued_at=base,
                started_at=base + timedelta(seconds=i + 1),
                ended_at=base + timedelta(seconds=i + 1 + 10 * (i + 1)),
            )
        )
    db.add(
        JobRun(
            job_id="march", queue="forecasting", status="finished", ended_at=base.replace(month=3)
        )
    )
    db.commit()
    make_monthly_metrics(db, date_anchor("2024-03-05T10:00+01:00"), HORIZONS)
    db.commit()
    stats = db.get(QueueStats, ("2024-02", "forecasting"))
    assert (stats.finished, stats.retries, stats.failed) == (3, 1, 1)
    assert (stats.wait_p50_seconds, stats.wait_p95_seconds) == (3, pytest.approx(4.8))
    assert (stats.run_p50_seconds, stats.run_p95_seconds) == (30, pytest.approx(48))


def test_a_second_run_for_the_same_month_replaces_the_first(db, hourly):
    amsterdam_march(db, hourly)
    anchor = date_anchor("2024-04-05T10:00+02:00")
    make_monthly_metrics(db, anchor, HORIZONS)
    db.commit()
    first = monthly_report(db, None, "2024-03")
    make_monthly_metrics(db, anchor, HORIZONS)
    db.commit()
    assert monthly_report(db, None, "2024-03") == first
    assert db.scalar(select(func.count()).select_from(SensorQuality)) == 2  # both sensors once
    assert available_months(db, None) == ["2024-03"]
    assert accuracy_history(db, None) == first["accuracy"]


def test_a_real_worker_records_each_job_it_runs(app, db, redis, hourly):
    """Jobs end in job_run when a worker runs them, so the queue metrics see them."""
    from tests.conftest import run_worker

    sensor = hourly["utc"]
    hours = pd.date_range("2024-02-01", periods=24 * 14, freq="h", tz="UTC")
    store(db, sensor, hourly["meter"], hours, hours.hour, hours + HOUR)
    from bvp.forecasting.enqueue import create_forecasting_jobs

    ids = create_forecasting_jobs(
        redis, job_settings(), [sensor.id], hours[-1] + HOUR, [timedelta(hours=1)]
    )
    run_worker("-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst")
    db.expire_all()
    runs = db.scalars(select(JobRun)).all()
    assert [(r.job_id, r.queue, r.status, r.sensor_id) for r in runs] == [
        (ids[0], "forecasting", "finished", sensor.id)
    ]
    assert runs[0].enqueued_at <= runs[0].started_at <= runs[0].ended_at
