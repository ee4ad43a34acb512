"""Job runs: one row per attempt of a queued job, kept in PostgreSQL for reporting.

rq keeps finished jobs for days and failed ones for weeks; monthly metrics need every
job of a month, so workers record each attempt here when it ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base

FINISHED, FAILED, RETRIED = "finished", "failed", "retried"  # retried: failed, will run again


class JobRun(Base):
    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_queue_ended_at", "queue", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    sensor_id: Mapped[int | None] = mapped_column(Integer)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)  # the last line of the traceback


def record_job_run(session: Session, **values) -> None:
    session.add(JobRun(**values))
