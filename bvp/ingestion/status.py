"""Per source: what was fetched and imported, when, and whether it is late against its
publication schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bvp.data.models.data_sources import importer_source_ids
from bvp.data.models.sensors import sensors_ingested_as
from bvp.data.newest_events import newest_events
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
    latest_events = _latest_events(session, manifest.sources)
    statuses = []
    for source in manifest.sources:
        row = times.get(source.id)
        latest = latest_events.get(source.id)
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


def _latest_events(session: Session, sources: list[Source]) -> dict[str, datetime]:
    """Source id -> the newest event its beliefs are about, over all its sensors: three
    queries for every source and sensor of the manifest (``newest_events``)."""
    data_sources = importer_source_ids(session, [source.id for source in sources])
    keys = {source.id: source.sensor_keys() for source in sources}
    sensors = sensors_ingested_as(session, set().union(*keys.values()))
    pairs = {
        (sensors[key], data_sources[source_id]): source_id
        for source_id, source_keys in keys.items()
        if source_id in data_sources
        for key in source_keys
        if key in sensors
    }
    latest: dict[str, datetime] = {}
    for pair, start in newest_events(session, pairs).items():
        source_id = pairs[pair]
        latest[source_id] = max(start, latest.get(source_id, start))
    return latest


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
