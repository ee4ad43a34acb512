"""Periodic re-forecasting through rq's cron scheduler."""

from datetime import timedelta

import numpy as np
import pandas as pd
from rq import Queue
from sqlalchemy import text

from bvp.data.beliefs import save_beliefs
from bvp.forecasting.job_ids import sensor_of_job
from bvp.forecasting.schedule import reforecast_due_sensors
from tests.conftest import job_settings, run_worker


def test_sensors_marked_for_reforecasting_get_forecasts_from_now(app, db, sensor, redis):
    sensor.attributes = {"reforecast_every": "PT1H"}
    db.commit()
    settings = job_settings(horizons=(timedelta(hours=6),))
    job_ids = reforecast_due_sensors(settings.as_job_kwargs())
    assert [sensor_of_job(j) for j in job_ids] == [sensor.id]
    now = pd.Timestamp.now(tz="UTC").floor("1h")
    assert job_ids[0].endswith(f"o{now:%Y%m%dT%H%M%SZ}")
    assert reforecast_due_sensors(settings.as_job_kwargs()) == job_ids  # same hour: same job
    assert Queue("forecasting", connection=redis).count == 1


def test_a_periodic_job_queued_before_an_upgrade_still_runs(app, db, sensor, redis):
    """A scheduler started before the settings were typed passes ``model_max_age`` in
    seconds; the jobs it queues until it restarts still forecast."""
    sensor.attributes = {"reforecast_every": "PT1H"}
    db.commit()
    kwargs = job_settings(horizons=(timedelta(hours=6),)).as_job_kwargs()
    kwargs["model_max_age"] = kwargs.pop("model_max_age_days") * 86400.0
    assert [sensor_of_job(j) for j in reforecast_due_sensors(kwargs)] == [sensor.id]


def test_cron_command_queues_the_periodic_job_and_a_worker_runs_it(app, db, sensor, redis):
    sensor.attributes = {"reforecast_every": "PT1H"}
    db.commit()
    now = pd.Timestamp.now(tz="UTC").floor("15min")
    # The job takes its origin (the hour) when the worker runs it, which may be in the
    # next hour: data up to then, so a lag of a day is known for every forecast event.
    end = now + pd.Timedelta(hours=1)
    index = pd.date_range(now - pd.Timedelta(days=3), end, freq="15min", inclusive="left")
    save_beliefs(
        db,
        {"event_start": index, "event_value": np.arange(len(index)) % 96 * 1.0},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=now.to_pydatetime(),
    )
    db.commit()
    result = app.test_cli_runner().invoke(args=["forecasts", "cron", "--once"])
    assert "queued 1 periodic jobs" in result.output, result.output
    run_worker("-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst")
    forecasts = db.execute(
        text(
            "SELECT count(*) FROM timed_belief tb JOIN data_source ds ON ds.id = tb.source_id "
            "WHERE ds.type = 'forecaster' AND tb.sensor_id = :s"
        ),
        {"s": sensor.id},
    ).scalar()
    assert forecasts >= 96  # a day ahead, from the current hour, without new data
