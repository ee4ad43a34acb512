"""The forecasting worker: rq's forking Worker, which also drains the forecast outbox.

It drains at start and with rq's periodic maintenance (every 10 minutes), so forecasts
owed while Redis was unreachable are queued once it is back, by whichever worker runs.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy.exc import SQLAlchemyError

from bvp.forecasting.jobs import JobSettings, drain_owed_forecasts
from bvp.queues import get_queue, redis_connection

log = logging.getLogger(__name__)


class ForecastingWorker(Worker):
    settings: JobSettings

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        drain_safely(self.settings)


def drain_safely(settings: JobSettings) -> None:
    try:
        drain_owed_forecasts(settings)
    except (RedisError, SQLAlchemyError) as error:  # try again at the next maintenance
        log.warning("could not drain the forecast outbox: %s", error)


def run_worker(
    settings: JobSettings, queues: list[str], name: str | None = None, burst: bool = False
) -> bool:
    """Run a worker on ``queues`` until stopped (or, with ``burst``, until empty).

    Many workers, on one machine or many, may share the same Redis and PostgreSQL.
    The built-in scheduler moves retried jobs back onto their queue after the backoff.
    """
    connection = redis_connection(settings.redis_url)
    drain_safely(settings)
    worker = ForecastingWorker(
        [get_queue(connection, q) for q in queues], connection=connection, name=name
    )
    worker.settings = settings
    return worker.work(burst=burst, with_scheduler=True)
