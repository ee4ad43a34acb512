"""Which model forecasts a sensor: chosen by backtest, remembered, re-chosen when old."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Double, Integer, String, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base


class ModelSelection(Base):
    __tablename__ = "model_selection"

    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(40))
    mase: Mapped[float | None] = mapped_column(Double)
    # Mean scores per model from the selecting backtest, for the dashboard and operators.
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # What the model forecasts with besides its name: "members" of an ensemble, interval
    # "offsets" per quantile and local hour, and the "coverage" they had on the backtest.
    calibration: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    selected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def store_selection(
    session: Session,
    sensor_id: int,
    model: str,
    mase: float | None,
    scores: dict[str, Any],
    selected_at: datetime,
    calibration: dict[str, Any] | None = None,
) -> None:
    values = {
        "model": model,
        "mase": mase,
        "scores": scores,
        "selected_at": selected_at,
        "calibration": calibration or {},
    }
    session.execute(
        insert(ModelSelection)
        .values(sensor_id=sensor_id, **values)
        .on_conflict_do_update(index_elements=["sensor_id"], set_=values)
    )


def selections_of(session: Session, sensor_ids: Iterable[int]) -> dict[int, ModelSelection]:
    """The model choices of these sensors (those that have one), by sensor id; one query."""
    query = select(ModelSelection).where(ModelSelection.sensor_id.in_(list(sensor_ids)))
    return {selection.sensor_id: selection for selection in session.scalars(query)}
