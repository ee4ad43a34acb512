"""New data owes forecasts: recorded in the data's own transaction (the forecast
outbox), enqueued once it commits, and settled when Redis took them.

A failure to reach Redis, or a crash right after commit, loses nothing: workers drain
what the outbox still owes at start and with their maintenance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bvp.data.models.forecast_outbox import (
    drop_superseded_owed_forecasts,
    owed_forecasts,
    record_owed_forecasts,
    settle_owed_forecasts,
)
from bvp.data.models.sensors import sensors_using_as_regressor
from bvp.data.transactional import after_commit, transactional
from bvp.forecasting.enqueue import enqueue_forecasts
from bvp.forecasting.pipeline import forecast_origins
from bvp.forecasting.settings import JobSettings

log = logging.getLogger(__name__)


@dataclass
class PendingJobs:
    """Filled in once the data's transaction has committed."""

    job_ids: list[str] = field(default_factory=list)
    redis_unreachable: bool = False


def enqueue_after_commit(session: Session, sensor_id: int, settings: JobSettings) -> PendingJobs:
    """Forecasts for the sensor, and for sensors using it as a regressor, once committed.

    They are owed in the outbox within the data's own transaction, so a failure to reach
    Redis (or a crash right after commit) loses nothing: a worker enqueues them later.
    """
    targets = [sensor_id, *sensors_using_as_regressor(session, sensor_id)]
    origins = forecast_origins(session, targets)
    record_owed_forecasts(session, origins)
    pending = PendingJobs()

    def enqueue() -> None:
        try:
            pending.job_ids.extend(enqueue_forecasts(settings, origins))
        except RedisError:
            log.warning("Redis unreachable: forecasting jobs owed in the outbox")
            pending.redis_unreachable = True
            return
        try:
            with transactional() as settle:
                owed = [(s, o) for s, o in origins.items() if o is not None]
                settle_owed_forecasts(settle, owed)
        except SQLAlchemyError as error:  # the jobs are queued; a drain settles them later
            log.warning("could not settle the forecast outbox: %s", error)

    after_commit(enqueue)
    return pending


def owe_forecasts(session: Session, sensor_id: int) -> None:
    """Record, in the data's transaction, the forecasts its new data calls for (for the
    sensor and the sensors using it as a regressor), without enqueueing them yet.

    For bulk loads: ``enqueue_newest_owed`` enqueues them once the load is done; if the
    process dies first, workers drain the outbox, so nothing is lost.
    """
    targets = [sensor_id, *sensors_using_as_regressor(session, sensor_id)]
    record_owed_forecasts(session, forecast_origins(session, targets))


def enqueue_newest_owed(
    session: Session, sensor_ids: Iterable[int], settings: JobSettings
) -> list[PendingJobs]:
    """After a bulk load: drop owed origins superseded by newer ones (a forecast from the
    middle of a back-fill helps no one), and enqueue the newest once the caller commits."""
    sensor_ids = sorted(set(sensor_ids))
    targets = set(sensor_ids)
    for sensor_id in sensor_ids:
        targets.update(sensors_using_as_regressor(session, sensor_id))
    drop_superseded_owed_forecasts(session, sorted(targets))
    return [enqueue_after_commit(session, sensor_id, settings) for sensor_id in sensor_ids]


def drain_owed_forecasts(settings: JobSettings) -> list[str]:
    """Enqueue every forecast the outbox still owes; their job ids. One transaction."""
    with transactional() as session:
        owed = owed_forecasts(session)
        job_ids: list[str] = []
        for sensor_id, origins in owed.items():
            for origin in origins:
                job_ids += enqueue_forecasts(settings, {sensor_id: origin})
        settle_owed_forecasts(session, [(s, o) for s, os in owed.items() for o in os])
    if job_ids:
        log.info("enqueued %d owed forecasting jobs", len(job_ids))
    return job_ids
