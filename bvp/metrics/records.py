"""The stored monthly metrics: one table per kind, one row per month and subject.

A run for a month replaces that month's rows (for the sensors it covered), so running
it again gives the same tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Double, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from bvp.data.db import Base


class SensorQuality(Base):
    """Per sensor and month: how much of the expected data arrived, and when."""

    __tablename__ = "metrics_sensor_quality"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    timezone: Mapped[str] = mapped_column(String(64))  # whose calendar month
    month_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    month_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expected: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer)
    completeness: Mapped[float] = mapped_column(Double)  # percent
    gaps: Mapped[int] = mapped_column(Integer)
    longest_gap_seconds: Mapped[float] = mapped_column(Double)
    revisions: Mapped[int] = mapped_column(Integer)  # beliefs beyond the first per event
    late_p50_seconds: Mapped[float | None] = mapped_column(Double)
    late_p95_seconds: Mapped[float | None] = mapped_column(Double)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ForecastAccuracy(Base):
    """Per sensor, model, horizon and month: how good the forecasts were."""

    __tablename__ = "metrics_forecast_accuracy"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(80), primary_key=True)
    horizon_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    forecasts: Mapped[int] = mapped_column(Integer)  # median forecasts with a measurement
    mae: Mapped[float | None] = mapped_column(Double)
    mase: Mapped[float | None] = mapped_column(Double)
    bias: Mapped[float | None] = mapped_column(Double)
    pinball: Mapped[float | None] = mapped_column(Double)
    coverage: Mapped[float | None] = mapped_column(Double)  # share inside p10-p90
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class QueueStats(Base):
    """Per queue and (UTC) month: jobs done and failed, retries, waiting and running times."""

    __tablename__ = "metrics_queue_stats"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    queue: Mapped[str] = mapped_column(String(80), primary_key=True)
    finished: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    retries: Mapped[int] = mapped_column(Integer)
    wait_p50_seconds: Mapped[float | None] = mapped_column(Double)
    wait_p95_seconds: Mapped[float | None] = mapped_column(Double)
    run_p50_seconds: Mapped[float | None] = mapped_column(Double)
    run_p95_seconds: Mapped[float | None] = mapped_column(Double)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
