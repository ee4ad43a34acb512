"""What workers run: one forecast (or a batch of forecasts from one origin and horizon),
one model choice, one training; each one transaction.

Queued by ``bvp.forecasting.enqueue`` under ids from ``bvp.forecasting.job_ids`` (which
name these functions by their dotted path: keep the names).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from rq import get_current_job

from bvp.data.transactional import transactional
from bvp.data.utc import utcnow
from bvp.forecasting.batch import make_forecasts
from bvp.forecasting.enqueue import FORECAST_JOB, enqueue_model_selection, enqueue_training
from bvp.forecasting.horizons import reach
from bvp.forecasting.pipeline import (
    choice_is_stale,
    current_model,
    make_forecast,
    retrain_stored_models,
    select_model,
    selection_is_stale,
    train_model,
)
from bvp.forecasting.store import stored_fit, training_due
from bvp.forecasting.threads import model_thread_limit


def run_forecasting_job(
    sensor_id: int,
    horizon_seconds: int,
    origin: str,
    as_of: str | None,
    model_max_age_seconds: int,
    model: str | None = None,
) -> dict:
    """One forecast, one transaction. If the sensor's model choice is missing or older
    than ``model_max_age_seconds``, a model-selection job is queued for it (it runs
    beside the forecasts); if its stored fit is due, a training job.

    The job reads the measurements known when it starts (``as_of`` is for replays): data
    committed while it waited in the queue is in its forecast.
    """
    horizon = timedelta(seconds=horizon_seconds)
    with model_thread_limit(), transactional() as session:
        result = make_forecast(
            session,
            sensor_id,
            datetime.fromisoformat(origin),
            horizon,
            as_of=datetime.fromisoformat(as_of) if as_of else utcnow(),
            model=model,
        )
        model = model or current_model(session, sensor_id)
        stale = selection_is_stale(session, sensor_id, timedelta(seconds=model_max_age_seconds))
        retrain = training_due(
            stored_fit(session, sensor_id, horizon), datetime.fromisoformat(origin)
        )
    job = get_current_job()
    if stale and job is not None:
        enqueue_model_selection(job.connection, sensor_id)
    elif retrain and job is not None:
        enqueue_training(job.connection, sensor_id, reach(horizon))
    return {
        "model": model,
        "stored": result.stored,  # as a batched job's result gives it
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }


@dataclass(frozen=True)
class ForecastRequest:
    """One queued forecast job, as a batch takes it."""

    job_id: str
    sensor_id: int
    horizon: timedelta
    origin: datetime
    as_of: datetime | None
    model_max_age: timedelta
    model: str | None

    @property
    def batch_key(self) -> tuple:
        """Requests with the same key can be forecast in one batch."""
        return (self.horizon, self.origin, self.as_of)


def forecast_request(job_id: str, function: str, args: tuple, kwargs: dict) -> ForecastRequest:
    """The forecast a queued job asks for (its arguments as ``run_forecasting_job``
    takes them, by position or by name); ValueError for any other job."""
    if function != FORECAST_JOB:
        raise ValueError(f"job {job_id} runs {function}, not a forecast")
    try:
        bound = inspect.signature(run_forecasting_job).bind(*args, **kwargs)
    except TypeError as error:
        raise ValueError(f"job {job_id}: {error}") from None
    bound.apply_defaults()
    given = bound.arguments
    return ForecastRequest(
        job_id=job_id,
        sensor_id=int(given["sensor_id"]),
        horizon=timedelta(seconds=given["horizon_seconds"]),
        origin=datetime.fromisoformat(given["origin"]),
        as_of=datetime.fromisoformat(given["as_of"]) if given["as_of"] else None,
        model_max_age=timedelta(seconds=given["model_max_age_seconds"]),
        model=given["model"],
    )


def run_forecasting_batch(
    requests: list[ForecastRequest], connection: Redis
) -> dict[str, dict | Exception]:
    """Forecasts of several sensors from one origin and horizon (one ``batch_key``), in one
    transaction: per job id, what ``run_forecasting_job`` returns for it, or the error
    that stopped its sensor's forecast (the others are stored).

    Each result names its batch (the first job's id) and what the batch wrote in all.
    Selections and trainings due are queued after the commit, as a job does alone.
    """
    first = requests[0]
    if any(r.batch_key != first.batch_key for r in requests):
        raise ValueError("a batch forecasts from one origin and horizon, as known at one time")
    by_sensor = {r.sensor_id: r for r in requests}
    if len(by_sensor) != len(requests):
        raise ValueError("a batch forecasts each sensor once")
    with model_thread_limit(), transactional() as session:
        done = make_forecasts(
            session,
            {r.sensor_id: r.model for r in requests},
            first.origin,
            first.horizon,
            as_of=first.as_of or utcnow(),
        )
    batch = {
        "job": first.job_id,
        "sensors": len(requests),
        "failed": len(done.failed),
        "created": done.written.created,
        "updated": done.written.updated,
        "unchanged": done.written.unchanged,
    }
    outcomes: dict[str, dict | Exception] = {}
    for request in requests:
        sensor_id = request.sensor_id
        if sensor_id in done.failed:
            outcomes[request.job_id] = done.failed[sensor_id]
            continue
        chosen = done.plans[sensor_id]
        try:
            if choice_is_stale(done.selections.get(sensor_id), request.model_max_age):
                enqueue_model_selection(connection, sensor_id)
            elif chosen.reuse and training_due(chosen.record, first.origin):
                enqueue_training(connection, sensor_id, reach(first.horizon))
        except Exception as error:  # the forecast is stored; this job retries the rest
            outcomes[request.job_id] = error
            continue
        outcomes[request.job_id] = {
            "model": chosen.model,
            "stored": done.stored.get(sensor_id, 0),
            "batch": batch,
        }
    return outcomes


def run_model_selection_job(sensor_id: int) -> dict:
    """Backtest every model over the last 28 days; the lowest MASE forecasts from now on."""
    with model_thread_limit(), transactional() as session:
        selection = select_model(session, sensor_id)
        trained = retrain_stored_models(session, sensor_id)
        return {"model": selection.model, "mase": selection.mase, "trained": trained}


def run_training_job(sensor_id: int, horizon_seconds: int) -> dict:
    """Fit the sensor's chosen model at its latest origin and store it for ``horizon``."""
    with model_thread_limit(), transactional() as session:
        return train_model(session, sensor_id, timedelta(seconds=horizon_seconds))
