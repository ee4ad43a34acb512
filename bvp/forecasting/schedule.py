"""Re-forecasting on a schedule, without new data, through rq's own cron scheduler.

A sensor with ``attributes.reforecast_every`` (an ISO 8601 duration, e.g. "PT1H" for a
weather-driven sensor) gets fresh forecasts that often, from the current time rounded
down to its resolution. `flask forecasts cron` runs rq's CronScheduler, which queues
``reforecast_due_sensors`` every few minutes; workers run it like any job.
"""

from __future__ import annotations

import pandas as pd
from rq.cron import CronScheduler

from bvp.data.models.sensors import sensors_with_attribute
from bvp.data.transactional import transactional
from bvp.data.utc import utcnow
from bvp.forecasting.enqueue import enqueue_forecasts
from bvp.forecasting.settings import JobSettings
from bvp.queues import redis_connection

CHECK_EVERY_SECONDS = 300


def reforecast_due_sensors(settings: dict) -> list[str]:
    """Queue forecasts for every sensor whose re-forecast time has come; their job ids.

    The origin is now rounded down to the sensor's ``reforecast_every``, so running this
    more often than that queues each origin once (job ids name the origin).
    """
    if "model_max_age" in settings:  # queued by a scheduler started before 2026-12-08
        settings = dict(settings)
        seconds = settings.pop("model_max_age")
        settings["model_max_age_days"] = max(1, round(seconds / 86400))
    job_settings = JobSettings(**settings)
    now = pd.Timestamp(utcnow())
    origins = {}
    with transactional() as session:
        query = sensors_with_attribute("reforecast_every")
        for sensor in session.scalars(query):
            every = sensor.typed_attributes.reforecast_every
            if every is None:  # a bad value stored before it was checked (warned)
                continue
            step = max(pd.Timedelta(every), pd.Timedelta(sensor.event_resolution))
            origins[sensor.id] = now.floor(step).to_pydatetime()
    return enqueue_forecasts(job_settings, origins)


def cron_scheduler(settings: JobSettings) -> CronScheduler:
    """rq's CronScheduler with BVP's periodic work registered."""
    scheduler = CronScheduler(connection=redis_connection(settings.redis_url), name="bvp-cron")
    scheduler.register(
        reforecast_due_sensors,
        settings.queue,
        kwargs={"settings": settings.as_job_kwargs()},
        interval=CHECK_EVERY_SECONDS,
        job_timeout=300,
        name="reforecast-due-sensors",
    )
    return scheduler
