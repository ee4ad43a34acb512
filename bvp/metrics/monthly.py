"""Making the monthly report: compute every metric for the month before the anchor and
store it, replacing that month's earlier rows. One transaction (the caller's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bvp.data.models import Sensor
from bvp.data.models.accounts import accounts_in_scope
from bvp.data.models.data_sources import forecaster_source_ids
from bvp.data.models.sensors import sensors_in_scope
from bvp.metrics.accuracy import sensor_accuracy
from bvp.metrics.durations import seconds
from bvp.metrics.months import Month, month_before
from bvp.metrics.quality import sensor_quality
from bvp.metrics.queues import queue_health
from bvp.metrics.records import ForecastAccuracy, QueueStats, SensorQuality


@dataclass
class MonthlyRun:
    months: dict[int, Month] = field(default_factory=dict)  # account id -> its month
    queue_month: Month | None = None
    sensors: int = 0
    accuracy_rows: int = 0
    queue_rows: int = 0


def make_monthly_metrics(
    session: Session,
    anchor: datetime,
    horizons: list[timedelta],
    *,
    in_utc: bool = False,
    account_id: int | None = None,
    on_sensor: Callable[[Sensor], None] = lambda sensor: None,
) -> MonthlyRun:
    """Metrics of the last full month before ``anchor``: per account in its own time zone
    (or all in UTC), for every sensor; queue health for the UTC month."""
    forecasters = forecaster_source_ids(session)
    run = MonthlyRun()
    for account in session.scalars(accounts_in_scope(account_id)):
        month = month_before(anchor, "UTC" if in_utc else account.timezone)
        run.months[account.id] = month
        sensors = list(session.scalars(sensors_in_scope(account.id)))
        ids = [s.id for s in sensors]
        session.execute(
            delete(SensorQuality).where(
                SensorQuality.month == month.label, SensorQuality.sensor_id.in_(ids)
            )
        )
        session.execute(
            delete(ForecastAccuracy).where(
                ForecastAccuracy.month == month.label, ForecastAccuracy.sensor_id.in_(ids)
            )
        )
        for sensor in sensors:
            _store_sensor(session, run, account.id, sensor, month, horizons, forecasters)
            on_sensor(sensor)
    run.queue_month = month_before(anchor, "UTC")
    session.execute(delete(QueueStats).where(QueueStats.month == run.queue_month.label))
    for health in queue_health(session, run.queue_month):
        session.add(
            QueueStats(
                month=run.queue_month.label,
                queue=health.queue,
                finished=health.finished,
                failed=health.failed,
                retries=health.retries,
                wait_p50_seconds=seconds(health.wait_p50),
                wait_p95_seconds=seconds(health.wait_p95),
                run_p50_seconds=seconds(health.run_p50),
                run_p95_seconds=seconds(health.run_p95),
            )
        )
        run.queue_rows += 1
    session.flush()
    return run


def _store_sensor(session, run, account_id, sensor, month, horizons, forecasters) -> None:
    quality = sensor_quality(session, sensor, month, forecasters)
    session.add(
        SensorQuality(
            month=month.label,
            sensor_id=sensor.id,
            account_id=account_id,
            timezone=month.timezone,
            month_start=month.start,
            month_end=month.end,
            expected=quality.expected,
            received=quality.received,
            completeness=quality.completeness,
            gaps=quality.gaps,
            longest_gap_seconds=quality.longest_gap.total_seconds(),
            revisions=quality.revisions,
            late_p50_seconds=seconds(quality.late_p50),
            late_p95_seconds=seconds(quality.late_p95),
        )
    )
    run.sensors += 1
    for accuracy in sensor_accuracy(session, sensor, month, horizons, forecasters):
        session.add(
            ForecastAccuracy(
                month=month.label,
                sensor_id=sensor.id,
                model=accuracy.model,
                horizon_seconds=int(accuracy.horizon.total_seconds()),
                account_id=account_id,
                forecasts=accuracy.forecasts,
                mae=accuracy.mae,
                mase=accuracy.mase,
                bias=accuracy.bias,
                pinball=accuracy.pinball,
                coverage=accuracy.coverage,
            )
        )
        run.accuracy_rows += 1
