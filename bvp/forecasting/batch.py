"""Forecasts of many sensors from one origin and horizon: one read of their histories,
one write of their forecasts, in the caller's one transaction.

A worker that finds forecast jobs of several sensors waiting for the same origin and
horizon runs them together (``bvp.forecasting.workers``): what one forecast costs
besides its model (reading the sensors, their choices and stored fits, their history,
the forecasters' sources, writing, committing) is paid once for the batch. Each
sensor's forecast is the one ``make_forecast`` makes alone (the same plan, inputs and
model); a sensor whose forecast raises is rolled back to its savepoint and reported,
and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from rq.timeouts import BaseTimeoutException
from sqlalchemy.orm import Session

from bvp.data.beliefs import SaveResult, save_beliefs
from bvp.data.histories import latest_histories
from bvp.data.models import ModelSelection
from bvp.data.models.data_sources import forecaster_source_ids
from bvp.data.models.model_selection import selections_of
from bvp.data.models.sensors import sensors_with_assets
from bvp.data.models.trained_models import stored_models_for
from bvp.data.utc import to_utc
from bvp.forecasting.horizons import reach
from bvp.forecasting.pipeline import (
    forecast_beliefs,
    forecast_frame,
    forecast_plan,
    forecaster_source,
    measured_values,
    model_context,
)
from bvp.forecasting.store import Plan


@dataclass
class Forecasts:
    """What a batch stored: rows per sensor, the model that forecast each, the plans
    they used; per failed sensor, its error; and the batch's write in all."""

    stored: dict[int, int] = field(default_factory=dict)
    models: dict[int, str] = field(default_factory=dict)
    plans: dict[int, Plan] = field(default_factory=dict)
    selections: dict[int, ModelSelection] = field(default_factory=dict)
    failed: dict[int, Exception] = field(default_factory=dict)
    written: SaveResult = field(default_factory=lambda: SaveResult(0, 0, 0))


def make_forecasts(
    session: Session,
    models: dict[int, str | None],
    origin: datetime,
    horizon: timedelta,
    as_of: datetime | None = None,
) -> Forecasts:
    """Forecast each sensor of ``models`` (sensor id -> the model asked for, None: its
    chosen one) as ``make_forecast`` would, from ``origin`` for ``horizon``, known at
    ``as_of``. Runs in the caller's transaction; commits nothing.

    A timeout (rq's) stops the whole batch; any other error stops only its sensor's
    forecast (in ``failed``), whose writes are rolled back to a savepoint.
    """
    origin = pd.Timestamp(to_utc(origin, "origin"))
    ids = sorted(models)
    done = Forecasts()
    sensors = sensors_with_assets(session, ids)
    done.selections = selections_of(session, ids)
    records = stored_models_for(session, ids, reach(horizon))
    forecasters = forecaster_source_ids(session)
    calibrations: dict[int, dict] = {}
    for sensor_id in ids:
        try:
            if sensor_id not in sensors:
                raise LookupError(f"sensor {sensor_id} does not exist")
            done.plans[sensor_id], calibrations[sensor_id] = forecast_plan(
                session,
                sensor_id,
                done.selections.get(sensor_id),
                models[sensor_id],
                origin,
                horizon,
                records,
            )
        except BaseTimeoutException:
            raise
        except Exception as error:
            done.failed[sensor_id] = error
    # a forecast from a stored fit reads weeks of history; a fit, a year
    histories = latest_histories(
        session,
        {s: origin - chosen.inputs for s, chosen in done.plans.items()},
        origin,
        as_of=as_of,
        exclude_sources=forecasters,
    )
    forecasts: dict[int, pd.DataFrame] = {}
    for sensor_id, chosen in done.plans.items():
        sensor, selection = sensors[sensor_id], done.selections.get(sensor_id)
        try:
            with session.begin_nested():  # a fit it makes is stored, or rolled back
                calibration = calibrations[sensor_id]
                since = origin - chosen.inputs
                context = model_context(session, sensor, since, origin, as_of, forecasters)
                history = measured_values(histories[sensor_id])
                done.models[sensor_id], forecasts[sensor_id] = forecast_frame(
                    session, sensor, selection, chosen, calibration, origin, horizon, history,
                    context,
                )  # fmt: skip
        except BaseTimeoutException:
            raise
        except Exception as error:
            done.failed[sensor_id] = error
    _store(session, done, forecasts, origin)
    return done


def _store(
    session: Session, done: Forecasts, forecasts: dict[int, pd.DataFrame], origin: pd.Timestamp
) -> None:
    """All forecasts in one write; should it fail, each sensor's on its own, so that the
    failure is its sensor's alone."""
    sources = {model: forecaster_source(session, model).id for model in set(done.models.values())}
    columns = {sensor_id: forecast_beliefs(frame) for sensor_id, frame in forecasts.items()}
    if not columns:
        return
    try:
        with session.begin_nested():
            done.written = save_beliefs(
                session,
                {
                    name: np.concatenate([c[name] for c in columns.values()])
                    for name in ("event_start", "event_value", "cumulative_probability")
                }
                | {
                    "sensor_id": np.concatenate(
                        [np.full(len(c["event_value"]), s) for s, c in columns.items()]
                    ),
                    "source_id": np.concatenate(
                        [
                            np.full(len(c["event_value"]), sources[done.models[s]])
                            for s, c in columns.items()
                        ]
                    ),
                },
                belief_time=origin.to_pydatetime(),
            )
        for sensor_id, c in columns.items():
            done.stored[sensor_id] = int(np.count_nonzero(~np.isnan(c["event_value"])))
        return
    except BaseTimeoutException:
        raise
    except Exception:
        pass  # find whose it was
    written = []
    for sensor_id, c in columns.items():
        try:
            with session.begin_nested():
                result = save_beliefs(
                    session,
                    c,
                    sensor_id=sensor_id,
                    source_id=sources[done.models[sensor_id]],
                    belief_time=origin.to_pydatetime(),
                )
            done.stored[sensor_id] = result.stored
            written.append(result)
        except BaseTimeoutException:
            raise
        except Exception as error:
            done.failed[sensor_id] = error
    done.written = SaveResult(
        sum(r.created for r in written),
        sum(r.updated for r in written),
        sum(r.unchanged for r in written),
    )
