"""Forecasts owed: written in the same transaction as the data that calls for them.

Enqueueing on Redis happens after commit and may fail (Redis down, process killed):
the row stays until the jobs are on the queue, and whoever drains the outbox (any
worker, after each job and at start, or `flask forecasts enqueue-pending`) enqueues
them. Nothing asked for is lost; enqueueing twice is harmless (job ids are stable).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base


class ForecastOutbox(Base):
    __tablename__ = "forecast_outbox"

    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def record_owed_forecasts(session: Session, origins: dict[int, datetime | None]) -> None:
    rows = [{"sensor_id": s, "origin": o} for s, o in origins.items() if o is not None]
    if rows:
        session.execute(insert(ForecastOutbox).values(rows).on_conflict_do_nothing())


def owed_forecasts(session: Session, limit: int = 1000) -> dict[int, list[datetime]]:
    """Owed origins per sensor, oldest first, locked against concurrent drainers."""
    rows = session.execute(
        select(ForecastOutbox.sensor_id, ForecastOutbox.origin)
        .order_by(ForecastOutbox.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    owed: dict[int, list[datetime]] = {}
    for sensor_id, origin in rows:
        owed.setdefault(sensor_id, []).append(origin)
    return owed


def settle_owed_forecasts(session: Session, pairs: list[tuple[int, datetime]]) -> None:
    if pairs:
        session.execute(
            delete(ForecastOutbox).where(
                tuple_(ForecastOutbox.sensor_id, ForecastOutbox.origin).in_(pairs)
            )
        )


def drop_superseded_owed_forecasts(session: Session, sensor_ids: list[int]) -> int:
    """Forget owed origins older than each sensor's newest owed one; how many were dropped.

    For bulk loads: a file imported after another makes the earlier origin's forecast
    pointless, so only the newest is kept.
    """
    if not sensor_ids:
        return 0
    newer = ForecastOutbox.__table__.alias("newer")
    return session.execute(
        delete(ForecastOutbox).where(
            ForecastOutbox.sensor_id.in_(sensor_ids),
            select(newer.c.origin)
            .where(newer.c.sensor_id == ForecastOutbox.sensor_id)
            .where(newer.c.origin > ForecastOutbox.origin)
            .exists(),
        )
    ).rowcount
