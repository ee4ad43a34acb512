"""Job runs: one row per attempt of a queued job, kept in PostgreSQL for reporting.

rq keeps finished jobs for days and failed ones for weeks; monthly metrics need every
job of a month, so workers record each attempt here when it ends. A sensor's job list
reads its newest runs here too, by an index, rather than every job id rq keeps (a week
of the whole fleet's).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base

FINISHED, FAILED, RETRIED = "finished", "failed", "retried"  # retried: failed, will run again


class JobRun(Base):
    __tablename__ = "job_run"
    __table_args__ = (
        Index("ix_job_run_queue_ended_at", "queue", "ended_at"),
        Index("ix_job_run_sensor_id_ended_at", "sensor_id", "ended_at"),
    )

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


def job_runs_ended_between(session: Session, start: datetime, end: datetime) -> list:
    """Every attempt that ended in ``[start, end)``: its queue, status and enqueued,
    started and ended times."""
    query = select(
        JobRun.queue, JobRun.status, JobRun.enqueued_at, JobRun.started_at, JobRun.ended_at
    ).where(JobRun.ended_at >= start, JobRun.ended_at < end)
    return session.execute(query).all()


def latest_job_runs(session: Session, sensor_id: int, limit: int = 100) -> list[JobRun]:
    """The newest attempt of each of the sensor's ``limit`` most recently ended jobs,
    newest first. Reads the sensor's runs backwards by the index on (sensor, end), a page
    at a time, until ``limit`` jobs are found: a job retried or run again has several."""
    newest: dict[str, JobRun] = {}
    query = (
        select(JobRun)
        .where(JobRun.sensor_id == sensor_id)
        .order_by(JobRun.ended_at.desc(), JobRun.id.desc())
        .limit(2 * limit)
    )
    page = list(session.scalars(query))
    while page:
        for run in page:
            newest.setdefault(run.job_id, run)
        last = page[-1]
        if len(newest) >= limit or len(page) < 2 * limit:
            break
        page = list(
            session.scalars(
                query.where(
                    (JobRun.ended_at < last.ended_at)
                    | ((JobRun.ended_at == last.ended_at) & (JobRun.id < last.id))
                )
            )
        )
    return list(newest.values())[:limit]
