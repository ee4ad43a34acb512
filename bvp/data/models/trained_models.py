"""Trained models: a sensor's fitted forecaster per horizon, stored so that forecasts
only predict. The learned state is BVP's own format (JSON, LightGBM's trees as text),
zlib-compressed: never a pickle, so reading it runs no code, and a model trained by one
worker serves every worker, on any machine, after restarts."""

from __future__ import annotations

import json
import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Double,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base


class TrainedModel(Base):
    __tablename__ = "trained_model"
    __table_args__ = (UniqueConstraint("sensor_id", "horizon"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensor.id", ondelete="CASCADE"))
    horizon: Mapped[timedelta] = mapped_column(Interval)  # the longest it forecasts ahead
    model: Mapped[str] = mapped_column(String(40))
    members: Mapped[list[str]] = mapped_column(JSONB, default=list)  # of an ensemble
    version: Mapped[str] = mapped_column(String(20))  # BVP's model version
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # per model
    # Trained on the events in [trained_from, trained_until); trained_until is the origin
    # of the fit: no forecast from an earlier origin may use the model.
    trained_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trained_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # newest belief
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # its backtest's
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fit_seconds: Mapped[float] = mapped_column(Double)  # CPU
    size_bytes: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


def encode_state(state: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(state, separators=(",", ":")).encode(), 6)


def decode_state(blob: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(blob))


def stored_model(session: Session, sensor_id: int, horizon: timedelta) -> TrainedModel | None:
    """The model stored for the sensor and horizon, without its state (loaded on use)."""
    return session.scalar(
        select(TrainedModel).where(
            TrainedModel.sensor_id == sensor_id, TrainedModel.horizon == horizon
        )
    )


def model_state(session: Session, trained_model_id: int) -> dict[str, Any]:
    blob = session.scalar(select(TrainedModel.state).where(TrainedModel.id == trained_model_id))
    return decode_state(blob)


def store_model(session: Session, state: dict[str, Any], **metadata) -> None:
    """Store (or replace) the sensor's model for a horizon; an older fit never replaces a
    newer one (a backfill forecast trains on the past)."""
    blob = encode_state(state)
    values = metadata | {"state": blob, "size_bytes": len(blob)}
    statement = insert(TrainedModel).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["sensor_id", "horizon"],
            set_={k: statement.excluded[k] for k in values if k not in ("sensor_id", "horizon")},
            where=TrainedModel.trained_until <= statement.excluded.trained_until,
        )
    )


def stored_models(session: Session, sensor_ids: list[int] | None = None) -> list[TrainedModel]:
    query = select(TrainedModel).order_by(TrainedModel.sensor_id, TrainedModel.horizon)
    if sensor_ids:
        query = query.where(TrainedModel.sensor_id.in_(sensor_ids))
    return list(session.scalars(query))


def stored_models_for(
    session: Session, sensor_ids: list[int], horizon: timedelta
) -> dict[int, TrainedModel]:
    """The models stored for these sensors and one horizon (without their state): one
    query for a batch of forecasts."""
    query = select(TrainedModel).where(
        TrainedModel.sensor_id.in_(sensor_ids), TrainedModel.horizon == horizon
    )
    return {record.sensor_id: record for record in session.scalars(query)}
