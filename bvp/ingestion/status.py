"""Per source: what was fetched and imported, when, and whether it is late against its
publication schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bvp.data.models import DataSource, Sensor, TimedBelief
from bvp.data.utc import utcnow
from bvp.ingestion.fields import parse_human_duration, schedule_period
from bvp.ingestion.manifest import Manifest, Source
from bvp.ingestion.registry import IMPORTED, DatafileRecord


@dataclass
class SourceStatus:
    source: Source
    files: dict[str, int]  # status -> count
    last_fetch: datetime | None  # when the newest file arrived
    last_import: datetime | None  # when a file was last imported successfully
    rows_read: int
    latest_event: datetime | None  # the newest event the source's beliefs are about
    late_by: timedelta | None  # None: on time, or not checkable

    @property
    def lag(self) -> str:
        if self.source.publication_schedule is None:
            return "no schedule"
        if self.last_import is None:
            return "never imported"
        return "on time" if self.late_by is None else f"late by {_short(self.late_by)}"


def source_statuses(
    session: Session, manifest: Manifest, now: datetime | None = None
) -> list[SourceStatus]:
    now = now or utcnow()
    counts: dict[str, dict[str, int]] = {}
    for source_id, status, n in session.execute(
        select(DatafileRecord.source_id, DatafileRecord.status, func.count()).group_by(
            DatafileRecord.source_id, DatafileRecord.status
        )
    ):
        counts.setdefault(source_id, {})[status] = n
    times = {
        row.source_id: row
        for row in session.execute(
            select(
                DatafileRecord.source_id,
                func.max(DatafileRecord.fetched_at).label("fetched"),
                func.max(DatafileRecord.imported_at)
                .filter(DatafileRecord.status == IMPORTED)
                .label("imported"),
                func.coalesce(func.sum(DatafileRecord.rows_read), 0).label("rows"),
            ).group_by(DatafileRecord.source_id)
        )
    }
    statuses = []
    for source in manifest.sources:
        row = times.get(source.id)
        latest = _latest_event(session, source)
        statuses.append(
            SourceStatus(
                source,
                counts.get(source.id, {}),
                row.fetched if row else None,
                row.imported if row else None,
                int(row.rows) if row else 0,
                latest,
                _late_by(source, latest, now),
            )
        )
    return statuses


def _latest_event(session: Session, source: Source) -> datetime | None:
    """Per sensor of the source, its newest event: one backward primary-key scan each."""
    data_source = session.scalar(
        select(DataSource.id).where(
            DataSource.name == source.id,
            DataSource.type == "importer",
            DataSource.model == "ingestion",
        )
    )
    keys = source.sensor_keys()
    if data_source is None or not keys:
        return None
    sensor_ids = session.scalars(
        select(Sensor.id).where(Sensor.attributes["ingested_as"].astext.in_(keys))
    ).all()
    newest = [
        session.scalar(
            select(TimedBelief.event_start)
            .where(TimedBelief.sensor_id == sensor_id, TimedBelief.source_id == data_source)
            .order_by(TimedBelief.event_start.desc())
            .limit(1)
        )
        for sensor_id in sensor_ids
    ]
    return max((n for n in newest if n is not None), default=None)


def _late_by(source: Source, latest: datetime | None, now: datetime) -> timedelta | None:
    """Late when the newest data is older than one publication period plus the lag."""
    period = schedule_period(source.publication_schedule)
    if period is None or latest is None:
        return None
    allowed = period + (
        parse_human_duration(source.publication_lag) if source.publication_lag else timedelta(0)
    )
    overdue = now - latest - allowed
    return overdue if overdue > timedelta(0) else None


def _short(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
