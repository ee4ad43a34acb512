"""flask forecasts ...: watch forecasting jobs drain, and look at the latest forecasts."""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import datetime, timedelta

import click
import pandas as pd
from flask.cli import AppGroup
from tqdm import tqdm

from bvp.cli.params import AWARE_DATETIME, DURATION
from bvp.config import app_settings
from bvp.data.models import ModelSelection, TrainedModel
from bvp.data.models.sensors import sensors_in_scope
from bvp.data.models.trained_models import stored_models
from bvp.data.transactional import transactional
from bvp.data.utc import iso_duration
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.forecasting.horizons import covering_horizons, reach
from bvp.forecasting.job_ids import forecast_job_id
from bvp.forecasting.job_status import DONE, WAITING, job_statuses
from bvp.forecasting.models import MODELS, model_label
from bvp.forecasting.outbox import drain_owed_forecasts
from bvp.forecasting.pipeline import (
    backtest_sensor,
    current_model,
    forecast_origins,
    latest_forecasts,
    make_forecast,
    retrain_stored_models,
    select_model,
    train_model,
)
from bvp.forecasting.settings import parse_horizons
from bvp.queues import redis_connection

# One meaning in `create` and `backtest`: the window of origins is [--from, --until).
UNTIL_HELP = (
    "Origins before this moment (exclusive), ISO 8601 with offset; the forecast from the "
    "last one may reach past it."
)

forecasts = AppGroup("forecasts", help="Forecasting jobs and forecasts.")


@forecasts.command("wait")
@click.option("--timeout", default=300, show_default=True, help="Give up after this many seconds.")
def wait(timeout: int) -> None:
    """Show progress until the jobs for every sensor's latest data are done.

    Those jobs are known by their ids (sensor, horizon, origin), so it does not matter
    whether the workers started before or after this command.
    """
    settings = app_settings().jobs
    with transactional() as session:
        sensor_ids = [sensor.id for sensor in session.scalars(sensors_in_scope(None))]
        origins = forecast_origins(session, sensor_ids)
    job_ids = [
        forecast_job_id(sensor_id, horizon, origin)
        for sensor_id, origin in origins.items()
        if origin is not None
        for horizon in covering_horizons(settings.horizons)  # as they were queued
    ]
    connection = redis_connection(settings.redis_url)
    deadline = time.monotonic() + timeout
    with tqdm(total=len(job_ids), unit="job", desc="forecasting", file=sys.stdout) as bar:
        while True:
            statuses = job_statuses(connection, job_ids)
            done = sum(s in DONE for s in statuses.values())
            bar.update(done - bar.n)
            if done == sum(s is not None for s in statuses.values()):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    counts = Counter(s or "never queued" for s in statuses.values())
    click.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    for job_id, status in statuses.items():
        if status == "failed":
            click.echo(f"  failed: {job_id} (traceback in rq-dashboard or `rq info`)", err=True)
    if counts.get("failed"):
        raise SystemExit(1)
    if sum(counts.get(s, 0) for s in WAITING):
        raise click.ClickException(
            f"Jobs still waiting after {timeout} s: is a worker running? "
            "Start one with `flask run_forecasting_worker`."
        )


@forecasts.command("show")
@click.option("--rows", default=8, show_default=True, help="About this many rows per sensor.")
def show(rows: int) -> None:
    """Print the latest forecasts of every sensor, in the sensor's own time zone."""
    with transactional() as session:
        for sensor in session.scalars(sensors_in_scope(None)):
            frame = latest_forecasts(session, sensor.id)
            if frame.empty:
                click.echo(f"{sensor.name} [{sensor.unit}]: no forecasts yet")
                continue
            local = frame.index.tz_convert(sensor.timezone)
            click.echo(
                f"\n{sensor.name} [{sensor.unit}], sensor {sensor.id}: {len(frame)} forecasts "
                f"from {local[0].isoformat()} ({sensor.timezone}), made at "
                f"{frame['belief_time'].iloc[0].isoformat()}"
            )
            step = max(1, len(frame) // rows)  # spread the rows over the whole horizon
            for when, value in zip(local[::step], frame["event_value"].iloc[::step], strict=True):
                click.echo(f"  {when.isoformat()}  {value:10.3f}")


@forecasts.command("enqueue-pending")
def enqueue_pending() -> None:
    """Queue the forecasts owed since Redis was last unreachable (workers also do this)."""
    job_ids = drain_owed_forecasts(app_settings().jobs)
    jobs = "job" if len(job_ids) == 1 else "jobs"
    click.echo(f"queued {len(job_ids)} owed forecasting {jobs}" + (": " if job_ids else ""))
    for job_id in job_ids:
        click.echo(f"  {job_id}")


@forecasts.command("backtest")
@click.option("--sensor", "sensor_id", type=int, required=True)
@click.option(
    "--from",
    "start",
    type=AWARE_DATETIME,
    required=True,
    help="First origin (a local midnight on or after it), ISO 8601 with offset, e.g. "
    "2016-09-15T00:00-06:00",
)
@click.option("--until", "end", type=AWARE_DATETIME, required=True, help=UNTIL_HELP)
@click.option(
    "--models",
    default=",".join(MODELS),
    show_default=True,
    help="Comma-separated model names.",
)
@click.option(
    "--horizons",
    default=None,
    help="Horizons to score (ISO 8601, comma-separated). Default: BVP_FORECAST_HORIZONS.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the per-origin scores as JSON.")
def backtest(
    sensor_id: int,
    start: datetime,
    end: datetime,
    models: str,
    horizons: str | None,
    as_json: bool,
) -> None:
    """Rolling-origin backtest from every local midnight: MAE, MASE, bias, pinball loss
    and p10-p90 coverage per model and horizon."""
    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}; known: {', '.join(MODELS)}")
    try:
        with transactional() as session:
            lead_times = parse_horizons(horizons) if horizons else app_settings().jobs.horizons
            results = backtest_sensor(
                session,
                sensor_id,
                start,
                end,
                names,
                horizon=max(lead_times),
                lead_times=lead_times,
            )
    except (LookupError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if results.forecasts.empty:
        raise click.ClickException("No whole day in that window to backtest.")
    if as_json:
        click.echo(results.per_origin().to_json(orient="records", date_format="iso"))
        return
    origins = results.forecasts["origin"].nunique()
    click.echo(f"{origins} origins (local midnights), sensor {sensor_id}; MASE on one scale:")
    click.echo(f"the day-ago naive MAE before the first origin, {results.scale:.4g}\n")
    click.echo(results.by_horizon().dropna(axis=1, how="all").round(3).to_string())


@forecasts.command("select")
@click.option(
    "--sensor", "sensor_ids", type=int, multiple=True, help="Repeatable. Default: every sensor."
)
def select(sensor_ids: tuple[int, ...]) -> None:
    """Choose sensors' models now, as the model-selection queue would: backtest every
    model (and the ensemble of the best) day-ahead from the last 28 local midnights,
    keep the lowest MASE, and calibrate its p10-p90 band on those days. One transaction
    per sensor, so each choice is kept as soon as it is made."""
    if not sensor_ids:
        with transactional() as session:
            sensor_ids = tuple(s.id for s in session.scalars(sensors_in_scope(None)))
    for sensor_id in sensor_ids:
        started = time.process_time()
        try:
            with transactional() as session:
                selection = select_model(session, sensor_id)
                retrain_stored_models(session, sensor_id)
                click.echo(_choice_line(selection, time.process_time() - started))
        except LookupError as error:
            raise click.ClickException(str(error)) from None
        if selection.scores:
            click.echo(_scores_table(selection.scores) + "\n")


def _scores_table(scores: dict) -> str:
    """The candidates' backtest scores, best first; scores no candidate has are left out."""
    table = pd.DataFrame(scores).T.sort_values("mase").dropna(axis=1, how="all")
    if "points" in table:
        table["points"] = table["points"].astype("Int64")
    return table.round(3).to_string()


def _choice_line(selection: ModelSelection, cpu_seconds: float) -> str:
    chosen = model_label(selection.model, selection.calibration.get("members") or [])
    coverage = selection.calibration.get("coverage")
    return (
        f"sensor {selection.sensor_id}: {chosen}"
        + (
            f", MASE {selection.mase:.3f}"
            if selection.mase is not None
            else " (too little history)"
        )
        + (f", p10-p90 coverage {coverage:.0%}" if coverage is not None else "")
        + f" ({cpu_seconds:.1f} s CPU)"
    )


@forecasts.command("models")
def models() -> None:
    """The model each sensor forecasts with, the backtest scores it was chosen by, and its
    stored fits per horizon (what they were trained on, and when)."""
    with transactional() as session:
        for sensor in session.scalars(sensors_in_scope(None)):
            selection = session.get(ModelSelection, sensor.id)
            if selection is None:
                click.echo(
                    f"{sensor.name} (sensor {sensor.id}): {current_model(session, sensor.id)} "
                    "(default; no backtest yet)"
                )
            else:
                click.echo(
                    f"\n{sensor.name} (sensor {sensor.id}): {selection.model}, chosen "
                    f"{selection.selected_at:%Y-%m-%d %H:%M}Z by day-ahead MASE over 28 days"
                )
                if selection.scores:
                    click.echo(_scores_table(selection.scores))
                else:
                    click.echo("  (too little history to backtest: the default model forecasts)")
            for record in stored_models(session, [sensor.id]):
                click.echo("  " + _stored_line(record))


def _stored_line(record: TrainedModel) -> str:
    features = sorted({f for names in record.features.values() for f in names})
    return (
        f"stored {iso_duration(record.horizon)}: {model_label(record.model, record.members)} "
        f"v{record.version}, trained {record.trained_at:%Y-%m-%d %H:%M}Z on events "
        f"{_when(record.trained_from)} to {_when(record.trained_until)} (data recorded up to "
        f"{_when(record.data_until)}), {len(features)} features, "
        f"{record.size_bytes / 1024:.0f} KiB, fitted in {record.fit_seconds:.1f} s CPU"
    )


def _when(moment) -> str:
    return "?" if moment is None else f"{moment:%Y-%m-%d %H:%M}Z"


@forecasts.command("train")
@click.option(
    "--sensor", "sensor_ids", type=int, multiple=True, help="Repeatable. Default: every sensor."
)
@click.option(
    "--horizon",
    "horizons",
    type=DURATION,
    multiple=True,
    help="ISO 8601 duration, repeatable. Default: the configured forecast horizons.",
)
def train(sensor_ids: tuple[int, ...], horizons: tuple[timedelta, ...]) -> None:
    """Fit sensors' chosen models at their latest origin and store them, as the daily
    training job does, so that forecasts only predict. Models that fit as they forecast
    (naive, ridge, MSTL) store nothing. One transaction per sensor and horizon."""
    asked = list(horizons)
    # one fit serves every horizon up to the same whole number of days
    wanted = sorted({reach(h) for h in asked or app_settings().jobs.horizons})
    if not sensor_ids:
        with transactional() as session:
            sensor_ids = tuple(s.id for s in session.scalars(sensors_in_scope(None)))
    for sensor_id in sensor_ids:
        for horizon in wanted:
            try:
                with transactional() as session:
                    outcome = train_model(session, sensor_id, horizon)
            except LookupError as error:
                raise click.ClickException(str(error)) from None
            done = (
                f"trained until {outcome['trained_until']} in {outcome['fit_seconds']:.1f} s CPU"
                if outcome["trained"]
                else f"nothing to store ({outcome['reason']})"
            )
            click.echo(f"sensor {sensor_id} {iso_duration(horizon)}: {outcome['model']}, {done}")


@forecasts.command("create")
@click.option("--sensor", "sensor_id", type=int, required=True)
@click.option(
    "--from",
    "start",
    type=AWARE_DATETIME,
    required=True,
    help="First origin, ISO 8601 with offset.",
)
@click.option("--until", "end", type=AWARE_DATETIME, required=True, help=UNTIL_HELP)
@click.option(
    "--horizon", type=DURATION, default="P1D", show_default=True, help="ISO 8601 duration."
)
@click.option(
    "--every", type=DURATION, default="P1D", show_default=True, help="Time between origins."
)
@click.option(
    "--model",
    type=click.Choice(list(MODELS)),
    help="Default: the sensor's chosen model (see `flask forecasts models`).",
)
@click.option("--as-job", is_flag=True, help="Queue the forecasts for workers instead.")
def create(
    sensor_id: int,
    start: datetime,
    end: datetime,
    horizon: timedelta,
    every: timedelta,
    model: str | None,
    as_job: bool,
) -> None:
    """Forecasts from a series of origins, here and now (progress bar) or as jobs."""
    settings = app_settings().jobs
    step, ahead = every, horizon
    origins = pd.date_range(start, end, freq=step, inclusive="left")
    if origins.empty:
        raise click.ClickException("No origin in that window.")
    if as_job:
        job_ids = []
        for origin in origins:
            job_ids += create_forecasting_jobs(
                redis_connection(settings.redis_url),
                settings,
                [sensor_id],
                origin.to_pydatetime(),
                [ahead],
                model=model,
            )
        click.echo(f"queued {len(job_ids)} forecasting jobs; watch them with `flask jobs list`")
        return
    created = 0
    with transactional() as session:
        for origin in tqdm(origins, unit="origin", desc=f"sensor {sensor_id}", file=sys.stdout):
            try:
                created += make_forecast(
                    session, sensor_id, origin.to_pydatetime(), ahead, model=model
                ).created
            except LookupError as error:
                raise click.ClickException(str(error)) from None
    click.echo(f"{created} forecasts created from {len(origins)} origins")


@forecasts.command("cron")
@click.option("--once", is_flag=True, help="Queue what is due now, then stop (for tests, cron).")
def cron(once: bool) -> None:
    """Run rq's cron scheduler for periodic re-forecasting (one per deployment is enough)."""
    from bvp.forecasting.schedule import cron_scheduler

    scheduler = cron_scheduler(app_settings().jobs)
    if once:
        queued = scheduler.enqueue_jobs()
        click.echo(f"queued {len(queued)} periodic jobs")
        return
    click.echo("cron scheduler running: re-forecasting sensors with attributes.reforecast_every")
    scheduler.start()
