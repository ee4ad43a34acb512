"""Forecasting throughput: one job, one worker vs two, and data POST to readable forecast.

On a database of its own (BVP_BENCH_FORECAST_DATABASE_URL, default `bvp_bench_forecast`;
Redis db 13), with 50 sensors holding a year of quarter-hourly history each, it prints:

- seconds for one day-ahead forecast on a sensor with a year of history, per model;
- CPU seconds to choose a sensor-year's model (every model and the ensemble, 28 origins);
- jobs per minute for one worker and for two workers in parallel, 50 day-ahead jobs with
  LightGBM (each worker on one thread, BVP_MODEL_THREADS=1, one worker per core), first
  fitting and storing each sensor's model, then predicting from the stored fits (at the
  three default horizons: 150 jobs), with workers that fork a work horse per job and
  with workers that run jobs in their own process (BVP_WORKER_JOBS); and the CPU per job,
  the workers' start-up (imports) left out;
- seconds from a data POST (under gunicorn) to its forecast being readable through the
  API, with one idle worker listening.

Usage: python bench/forecasting.py
"""

from __future__ import annotations

import os
import platform
import resource
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import redis
from sqlalchemy import text

from bvp.app import fresh_database
from bvp.config import load_settings
from bvp.data.beliefs import save_beliefs
from bvp.data.db import Session
from bvp.data.models import Account, Asset, Sensor, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.models.auth_tokens import issue_token
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.models.model_selection import store_selection
from bvp.data.passwords import hash_password
from bvp.data.utc import utcnow
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.forecasting.pipeline import make_forecast, select_model
from bvp.forecasting.workers import preload_models

sys.path.insert(0, str(Path(__file__).resolve().parent))
import processes as servers  # bench/processes.py, beside this file

REPO = Path(__file__).resolve().parent.parent
URL = os.environ.get(
    "BVP_BENCH_FORECAST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_forecast"
)
REDIS_URL = os.environ.get("BVP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SENSORS = 50
QUARTER = pd.Timedelta(minutes=15)
ORIGIN = pd.Timestamp("2025-01-01T00:00Z")
ENV = servers.production_env(URL, REDIS_URL)
JOBS = load_settings("production", environ=ENV).jobs  # as the workers run them


def setup() -> tuple[list[int], str]:
    fresh_database(URL)
    session = Session()
    roles = {r.name: r for r in ensure_roles(session)}
    account = Account(name="bench")
    asset = Asset(name="bench", asset_type="pv", account=account, timezone="Europe/Amsterdam")
    sensors = [
        Sensor(
            name=f"load {i}",
            unit="kW",
            event_resolution=timedelta(minutes=15),
            timezone="Europe/Amsterdam",
            asset=asset,
            attributes={"country": "NL"},
        )
        for i in range(SENSORS)
    ]
    user = User(
        email="bench@bvp.example",
        password_hash=hash_password("bench-password"),
        account=account,
        roles=[roles["user"]],
    )
    session.add_all([account, asset, user, *sensors])
    session.flush()
    source = get_or_create_source(session, "meter", "user")
    year = pd.date_range(ORIGIN - pd.Timedelta(days=365), ORIGIN, freq=QUARTER, inclusive="left")
    hours = (year.hour + year.minute / 60).to_numpy()
    rng = np.random.default_rng(7)
    for sensor in sensors:
        load = 3 + 2 * np.sin(np.pi * (hours - 6) / 12) + rng.normal(0, 0.3, len(year))
        save_beliefs(
            session,
            {"event_start": year, "event_value": load},
            sensor_id=sensor.id,
            source_id=source.id,
            belief_time=ORIGIN.to_pydatetime(),
        )
    token, _ = issue_token(session, user, timedelta(hours=1))
    session.commit()
    return [s.id for s in sensors], token


def one_job_seconds(sensor_id: int) -> dict[str, float]:
    session = Session()
    preload_models()  # as a worker does before it forks jobs
    make_forecast(session, sensor_id, ORIGIN.to_pydatetime(), timedelta(days=1))  # warm-up
    session.rollback()
    timings = {}
    for model in ("naive-1d", "ridge", "mstl-ets", "lightgbm"):
        store_selection(session, sensor_id, model, None, {}, utcnow())
        start = time.perf_counter()
        make_forecast(session, sensor_id, ORIGIN.to_pydatetime(), timedelta(days=1))
        session.commit()
        timings[model] = time.perf_counter() - start
    # the LightGBM fit above was stored: an hour later, the forecast only predicts
    later = (ORIGIN + pd.Timedelta(hours=1)).to_pydatetime()
    start = time.perf_counter()
    make_forecast(session, sensor_id, later, timedelta(days=1))
    session.commit()
    timings["lightgbm, stored fit"] = time.perf_counter() - start
    return timings


def selection_cpu_seconds(sensor_id: int) -> tuple[float, float, str]:
    """CPU and wall seconds to choose a sensor-year's model (every candidate, 28 origins),
    on one thread as a worker runs it."""
    from threadpoolctl import threadpool_limits

    session = Session()
    with threadpool_limits(1):
        cpu, wall = time.process_time(), time.perf_counter()
        selection = select_model(session, sensor_id)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    session.commit()
    return cpu, wall, selection.model


def jobs_per_minute(
    sensor_ids: list[int],
    workers: int,
    origin: pd.Timestamp,
    horizons: list[timedelta],
    jobs: str = "fork",
) -> tuple[float, float]:
    """Jobs per minute of ``workers`` burst workers on the queued jobs, and CPU seconds per
    job (the workers' and their horses'), the workers' start-up left out."""
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    count = len(
        create_forecasting_jobs(connection, JOBS, sensor_ids, origin.to_pydatetime(), horizons)
    )
    cpu = _children_cpu()
    start = time.perf_counter()
    _burst_workers(workers, jobs)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    return count / (elapsed / 60), (cpu - workers * start_up_cpu_seconds(jobs)) / count


def forget_stored_models() -> None:
    session = Session()
    session.execute(text("DELETE FROM trained_model"))
    session.commit()


def _burst_workers(workers: int, jobs: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "worker.py", "--queue", "forecasting", "--burst"],
            cwd=REPO,
            env={**ENV, "BVP_WORKER_JOBS": jobs},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.wait(timeout=1800)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_start_up: dict[str, float] = {}


def start_up_cpu_seconds(jobs: str) -> float:
    """CPU of a worker that starts, finds its queue empty and stops: imports, connections."""
    if jobs not in _start_up:
        redis.Redis.from_url(REDIS_URL).flushdb()
        cpu = _children_cpu()
        _burst_workers(1, jobs)
        _start_up[jobs] = _children_cpu() - cpu
    return _start_up[jobs]


def post_to_forecast_seconds(sensor_id: int, token: str) -> float:
    port = servers.free_port()
    api = servers.start_gunicorn(port, 2, ENV)
    worker = subprocess.Popen(
        [sys.executable, "worker.py", "--queue", "forecasting"],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        for _ in range(100):
            try:
                client.get("/healthcheck")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        time.sleep(2)  # the worker is up and idle
        day = pd.date_range(ORIGIN, periods=96, freq=QUARTER)
        body = {"start": day[0].isoformat(), "duration": "P1D", "values": [3.0] * 96, "unit": "kW"}
        next_day = {
            "start": (ORIGIN + pd.Timedelta(days=1)).isoformat(),
            "end": (ORIGIN + pd.Timedelta(days=2)).isoformat(),
        }
        start = time.perf_counter()
        response = client.post(f"/api/v1/sensors/{sensor_id}/data", json=body)
        assert response.status_code == 200, response.text
        while time.perf_counter() - start < 60:
            values = client.get(f"/api/v1/sensors/{sensor_id}/forecasts", params=next_day).json()
            if values.get("values") and values["values"][-1] is not None:
                return time.perf_counter() - start
            time.sleep(0.05)
        raise SystemExit("no forecast within 60 s")
    finally:
        for process in (api, worker):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def main() -> None:
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    started = time.perf_counter()
    sensor_ids, token = setup()
    print(
        f"# {SENSORS} sensors x a year of quarter-hours stored in "
        f"{time.perf_counter() - started:.1f} s\n"
    )
    for model, seconds in one_job_seconds(sensor_ids[0]).items():
        print(f"one day-ahead forecast, year of history, {model:<14} {seconds:6.2f} s")
    cpu, wall, chosen = selection_cpu_seconds(sensor_ids[1])
    print(f"choosing a sensor-year's model: {cpu:.1f} s CPU, {wall:.1f} s wall (chose {chosen})")
    session = Session()
    for sensor_id in sensor_ids:
        store_selection(session, sensor_id, "lightgbm", None, {}, utcnow())
    session.commit()
    day = [timedelta(days=1)]
    forget_stored_models()
    one, _ = jobs_per_minute(sensor_ids, 1, ORIGIN + pd.Timedelta(hours=1), day)
    forget_stored_models()  # the two workers fit too
    two, fit_cpu = jobs_per_minute(sensor_ids, 2, ORIGIN + pd.Timedelta(hours=2), day)
    print(
        f"\n{SENSORS} lightgbm jobs fitting their model: 1 worker {one:.0f} jobs/min, "
        f"2 workers {two:.0f} jobs/min ({two / one:.2f}x), {fit_cpu * 1000:.0f} ms CPU per job"
    )
    horizons = [timedelta(hours=1), timedelta(hours=6), timedelta(days=1)]
    origin = ORIGIN + pd.Timedelta(hours=3)
    for mode in ("fork", "in-process"):
        for workers in (1, 2):
            origin += pd.Timedelta(hours=1)
            rate, cpu = jobs_per_minute(sensor_ids, workers, origin, horizons, mode)
            print(
                f"{len(sensor_ids) * 3} lightgbm jobs from stored fits, {mode}, {workers} "
                f"worker{'s' if workers > 1 else ''}: {rate:.0f} jobs/min, "
                f"{cpu * 1000:.0f} ms CPU per job (start-up {start_up_cpu_seconds(mode):.1f} s "
                "per worker left out)"
            )
    store_selection(session, sensor_ids[1], "naive-1d", None, {}, utcnow())
    session.commit()
    latency = post_to_forecast_seconds(sensor_ids[1], token)
    print(f"data POST -> forecast readable through the API, one idle worker: {latency:.2f} s")
    redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
