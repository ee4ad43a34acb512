"""Reading the stored monthly metrics back, as plain rows for the API, CLI and dashboard.

``account_id`` None means every account (admins); queue health is not per account.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bvp.data.models import Sensor
from bvp.data.utc import iso_duration
from bvp.metrics.records import ForecastAccuracy, QueueStats, SensorQuality

Row = dict[str, Any]
COLUMNS = {  # the rows' fields, in order (files of an empty report still get headers)
    "quality": [
        "month", "sensor_id", "sensor", "unit", "timezone", "month_start", "month_end",
        "expected", "received", "completeness", "gaps", "longest_gap", "revisions",
        "late_p50_seconds", "late_p95_seconds",
    ],
    "accuracy": [
        "month", "sensor_id", "sensor", "unit", "model", "horizon", "forecasts",
        "mae", "mase", "bias", "pinball", "coverage",
    ],
    "queues": [
        "month", "queue", "finished", "failed", "retries", "wait_p50_seconds",
        "wait_p95_seconds", "run_p50_seconds", "run_p95_seconds",
    ],
}  # fmt: skip


def available_months(session: Session, account_id: int | None) -> list[str]:
    """Months with stored metrics, newest first."""
    query = select(SensorQuality.month).distinct()
    if account_id is not None:
        query = query.where(SensorQuality.account_id == account_id)
    return sorted(session.scalars(query), reverse=True)


def monthly_report(session: Session, account_id: int | None, month: str) -> dict[str, list[Row]]:
    """The stored metrics of one month: {"quality": [...], "accuracy": [...], "queues": [...]}."""
    quality = _scoped(select(SensorQuality, Sensor), SensorQuality, account_id).where(
        SensorQuality.month == month
    )
    accuracy = _scoped(select(ForecastAccuracy, Sensor), ForecastAccuracy, account_id).where(
        ForecastAccuracy.month == month
    )
    queues = select(QueueStats).where(QueueStats.month == month).order_by(QueueStats.queue)
    return {
        "quality": [_quality_row(q, s) for q, s in session.execute(quality)],
        "accuracy": [_accuracy_row(a, s) for a, s in session.execute(accuracy)],
        "queues": [_queue_row(q) for q in session.scalars(queues)],
    }


def accuracy_history(session: Session, account_id: int | None) -> list[Row]:
    """Accuracy rows of every stored month, oldest first."""
    query = _scoped(select(ForecastAccuracy, Sensor), ForecastAccuracy, account_id)
    rows = [_accuracy_row(a, s) for a, s in session.execute(query)]
    return sorted(rows, key=lambda r: (r["month"], r["sensor_id"], r["model"], r["horizon"]))


def _scoped(query: Select, table, account_id: int | None) -> Select:
    query = query.join(Sensor, Sensor.id == table.sensor_id).order_by(table.sensor_id)
    return query if account_id is None else query.where(table.account_id == account_id)


def _quality_row(q: SensorQuality, sensor: Sensor) -> Row:
    return {
        "month": q.month,
        "sensor_id": q.sensor_id,
        "sensor": sensor.name,
        "unit": sensor.unit,
        "timezone": q.timezone,
        "month_start": q.month_start.isoformat(),
        "month_end": q.month_end.isoformat(),
        "expected": q.expected,
        "received": q.received,
        "completeness": round(q.completeness, 3),
        "gaps": q.gaps,
        "longest_gap": iso_duration(_delta(q.longest_gap_seconds)),
        "revisions": q.revisions,
        "late_p50_seconds": q.late_p50_seconds,
        "late_p95_seconds": q.late_p95_seconds,
    }


def _accuracy_row(a: ForecastAccuracy, sensor: Sensor) -> Row:
    return {
        "month": a.month,
        "sensor_id": a.sensor_id,
        "sensor": sensor.name,
        "unit": sensor.unit,
        "model": a.model,
        "horizon": iso_duration(_delta(a.horizon_seconds)),
        "forecasts": a.forecasts,
        "mae": a.mae,
        "mase": a.mase,
        "bias": a.bias,
        "pinball": a.pinball,
        "coverage": a.coverage,
    }


def _queue_row(q: QueueStats) -> Row:
    return {
        "month": q.month,
        "queue": q.queue,
        "finished": q.finished,
        "failed": q.failed,
        "retries": q.retries,
        "wait_p50_seconds": q.wait_p50_seconds,
        "wait_p95_seconds": q.wait_p95_seconds,
        "run_p50_seconds": q.run_p50_seconds,
        "run_p95_seconds": q.run_p95_seconds,
    }


def _delta(total_seconds: float) -> timedelta:
    return timedelta(seconds=total_seconds)
