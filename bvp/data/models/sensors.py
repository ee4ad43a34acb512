"""Sensors: one time series each, with its unit, resolution and local time zone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ForeignKey, Interval, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bvp.data.db import Base
from bvp.data.models.assets import Asset


class Sensor(Base):
    __tablename__ = "sensor"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    event_resolution: Mapped[timedelta] = mapped_column(Interval)
    # IANA zone, for display and calendar features only: storage is always UTC.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    # Free-form settings, e.g. {"knowledge_horizon": "PT15M", "regressors": [3, 4],
    # "country": "US"}.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    asset: Mapped[Asset] = relationship()

    def __repr__(self) -> str:
        return f"<Sensor {self.id} {self.name!r} [{self.unit}]>"
