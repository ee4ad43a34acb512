"""What workers run: one forecast, one model choice, one training; each one transaction.

Queued by ``bvp.forecasting.enqueue`` under ids from ``bvp.forecasting.job_ids`` (which
name these functions by their dotted path: keep the names).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rq import get_current_job

from bvp.data.transactional import transactional
from bvp.data.utc import utcnow
from bvp.forecasting.enqueue import enqueue_model_selection, enqueue_training
from bvp.forecasting.horizons import reach
from bvp.forecasting.pipeline import (
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
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }


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
