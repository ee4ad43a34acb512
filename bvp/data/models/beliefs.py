"""Timed beliefs: every stored value is a belief about an event, formed at a time.

Rows are written and read set-based by ``bvp.data.beliefs``; this class exists for
the schema (and migrations), not for per-row ORM use on hot paths.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Double, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from bvp.data.db import Base


class TimedBelief(Base):
    __tablename__ = "timed_belief"
    __table_args__ = (
        # The primary key (sensor_id, event_start, belief_time, ...) serves "latest belief
        # per event in a window for a sensor": a backward scan of it yields each event's
        # newest belief first. Deleting or exporting by source uses this one.
        Index("ix_timed_belief_source_id", "source_id"),
    )

    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensor.id", ondelete="CASCADE"), primary_key=True
    )
    event_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    belief_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("data_source.id", ondelete="CASCADE"), primary_key=True
    )
    cumulative_probability: Mapped[float] = mapped_column(
        Double, primary_key=True, default=0.5, server_default="0.5"
    )
    event_value: Mapped[float] = mapped_column(Double)
