"""A fleet of sensors on this machine: a year of history each, then 15-minute cycles in
which every sensor posts its new value through the API and workers forecast it.

On a database of its own (BVP_BENCH_FLEET_DATABASE_URL, default `bvp_bench_fleet`;
Redis db 12):

1. N sensors shaped like real data (``--sensors``, default 1,000): each takes one of
   three public series (bench/public_series.py: PV power of NREL system 50, the met
   mast's wind speed, England and Wales demand), scaled (0.5-2x), shifted by whole days,
   with 3 % noise, 1 % of values missing and, for some, a missing day; a year of
   quarter-hours each, stored in bulk with ``save_beliefs`` (20 sensors per call).
2. Every sensor forecasts with LightGBM (the boosted model: BVP's pick, alone or in an
   ensemble, on the PV and wind series of bench/forecast_quality.py; choosing by
   backtest costs 15-25 s per sensor and is left out here), fitted and stored by
   ``flask forecasts train`` in one process per core: the training a fleet needs each
   day.
3. ``--cycles`` 15-minute cycles (default 2): gunicorn (2 workers) and one forecasting
   worker per core are running; every sensor posts its next quarter-hour in a
   one-value POST (8 concurrent clients), each post queues the configured horizons
   (PT1H, PT6H, P1D: one day-ahead job, which stores all three), and the workers
   forecast from the stored fits. The posts arrive evenly over the cycle's first minute
   (``--spread`` seconds), as meters report.

It prints: the load time and the database size per sensor-year; the training CPU per
sensor per day; per cycle, the cycle time (first post to last forecast stored), the
POST -> day-ahead-forecast latency p50/p95 over the sensors, the API's p50/p99 for the
one-value posts, the workers' CPU per forecast job and per sensor and horizon, and
whether the cycle fits in 15 minutes; then the dashboard's sensors page and a sensor's
job list, served in-process with the whole fleet, and the query every POST makes for
the sensors using the posted one as a regressor. Needs the public series: `./tasks
bench` installs them.

Usage: python bench/fleet.py [--sensors N] [--cycles C] [--spread S] [--batch-size B]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import redis
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import processes as servers  # bench/processes.py, beside this file
from public_series import SERIES, regular

from bvp.app import fresh_database
from bvp.data.beliefs import save_beliefs
from bvp.data.db import Session, init_engine
from bvp.data.models import Account, Asset, Sensor, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.models.auth_tokens import issue_token
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.models.model_selection import store_selection
from bvp.data.passwords import hash_password
from bvp.data.utc import utcnow
from bvp.forecasting.horizons import covering_horizons
from bvp.forecasting.settings import parse_horizons
from bvp.queues import get_queue

URL = os.environ.get(
    "BVP_BENCH_FLEET_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_fleet"
)
REDIS_URL = os.environ.get("BVP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
QUARTER = pd.Timedelta(minutes=15)
YEAR = pd.Timedelta(days=364)  # whole weeks: the weekly pattern lines up
NOW = pd.Timestamp("2026-01-05T00:00Z")  # the fleet's "now": a Monday
HORIZONS = parse_horizons("PT1H,PT6H,P1D")  # BVP's default BVP_FORECAST_HORIZONS
KINDS = {"pv": "pv-system-50", "wind": "wind-mast", "load": "demand-gb"}
UNITS = {"pv": "kW", "wind": "m/s", "load": "MW"}
# no backtests queued: the models are given
ENV = servers.production_env(
    URL, REDIS_URL, BVP_MODEL_MAX_AGE_DAYS="10000", BVP_FORECAST_HORIZONS="PT1H,PT6H,P1D"
)
LOG_DIR = Path(os.environ.get("TMPDIR", "/tmp"))


def base_years() -> dict[str, np.ndarray]:
    """A year of quarter-hours per kind, from the real series, ending on a local week."""
    years = {}
    steps = int(YEAR / QUARTER)
    for kind, name in KINDS.items():
        series = next(s for s in SERIES if s.name == name)
        values = regular(series.load(), series.resolution)
        values = values.resample(QUARTER).mean().interpolate(limit=2)  # 10 and 30 min too
        values = values.to_numpy()
        values = values[-(len(values) // 672) * 672 :]  # whole weeks
        years[kind] = np.resize(values, steps + 672 * 4)  # tiled to a year and a month
    return years


def fleet_values(years: dict[str, np.ndarray], index: int, rng) -> tuple[str, np.ndarray]:
    """One sensor's year and a month beyond: a real series scaled, shifted, noised, gapped."""
    kind = list(KINDS)[index % len(KINDS)]
    base = years[kind]
    shift = int(rng.integers(0, 28)) * 96  # whole days: the sun stays where it was
    values = np.roll(base, shift) * rng.uniform(0.5, 2.0)
    values = values + rng.normal(0, 0.03 * np.nanstd(values), len(values))
    if kind != "load":
        values = np.clip(values, 0, None)
    values[rng.random(len(values)) < 0.01] = np.nan
    if rng.random() < 0.3:
        day = int(rng.integers(0, len(values) // 96 - 40)) * 96
        values[day : day + 96] = np.nan
    return kind, values


def setup(sensors: int) -> tuple[list[int], dict, dict, str, float]:
    """The fleet, its history stored in bulk; the values each will post next; a token."""
    fresh_database(URL)
    session = Session()
    roles = {r.name: r for r in ensure_roles(session)}
    account = Account(name="fleet")
    assets = {
        kind: Asset(name=f"fleet {kind}", asset_type=kind, account=account, timezone="UTC")
        for kind in KINDS
    }
    user = User(
        email="fleet@bvp.example",
        password_hash=hash_password("bench-password"),
        account=account,
        roles=[roles["user"]],
    )
    session.add_all([account, user, *assets.values()])
    made = []
    for i, (kind, values) in enumerate(fleet_series(sensors)):
        sensor = Sensor(
            name=f"{kind} {i}",
            unit=UNITS[kind],
            event_resolution=timedelta(minutes=15),
            timezone="UTC",
            asset=assets[kind],
            attributes={"country": "GB"} if kind == "load" else {},
        )
        made.append((sensor, values))
    session.add_all([s for s, _ in made])
    session.flush()
    source = get_or_create_source(session, "meter", "user")
    history = pd.date_range(NOW - YEAR, NOW, freq=QUARTER, inclusive="left")
    started = time.perf_counter()
    for chunk in range(0, len(made), 20):
        part = made[chunk : chunk + 20]
        save_beliefs(
            session,
            {
                "event_start": np.tile(history.to_numpy(), len(part)),
                "event_value": np.concatenate([v[: len(history)] for _, v in part]),
                "sensor_id": np.repeat([s.id for s, _ in part], len(history)),
            },
            source_id=source.id,
            belief_time=NOW.to_pydatetime(),
        )
        session.commit()
    load_seconds = time.perf_counter() - started
    for sensor, _ in made:
        store_selection(session, sensor.id, "lightgbm", None, {}, utcnow())
    token, _ = issue_token(session, user, timedelta(days=2))
    session.commit()
    ids = [s.id for s, _ in made]
    units = {s.id: s.unit for s, _ in made}
    return ids, _upcoming(ids, [v for _, v in made]), units, token, load_seconds


def fleet_series(sensors: int) -> list[tuple[str, np.ndarray]]:
    """Every sensor's kind and values, the same at every run."""
    years, rng = base_years(), np.random.default_rng(17)
    return [fleet_values(years, i, rng) for i in range(sensors)]


def _upcoming(ids: list[int], values: list[np.ndarray]) -> dict[int, list[float]]:
    """What each sensor posts after its year; a meter that missed a reading posts the one
    before it again."""
    steps = int(YEAR / QUARTER)
    return {
        i: [float(x) for x in pd.Series(v).ffill().bfill().to_numpy()[steps:]]
        for i, v in zip(ids, values, strict=True)
    }


def stored_fleet(sensors: int) -> tuple[list[int], dict, dict, str, int]:
    """The fleet a previous run stored and trained (--cycles-only); the next step to post."""
    init_engine(URL)
    session = Session()
    fleet = session.execute(select(Sensor.id, Sensor.unit).order_by(Sensor.id)).all()
    if len(fleet) != sensors:
        raise SystemExit(f"{URL} holds {len(fleet)} sensors, not {sensors}: run without it")
    ids = [sensor_id for sensor_id, _ in fleet]
    # the newest measurement: the forecasts of earlier cycles reach a day beyond it
    newest = session.execute(text("SELECT max(event_start) FROM newest_measurement")).scalar()
    user = session.scalars(select(User).where(User.email == "fleet@bvp.example")).one()
    token, _ = issue_token(session, user, timedelta(days=2))
    session.commit()
    upcoming = _upcoming(ids, [v for _, v in fleet_series(sensors)])
    next_step = int((pd.Timestamp(newest) - NOW) / QUARTER) + 1
    return ids, upcoming, dict(fleet), token, next_step


def database_bytes_per_sensor_year(sensors: int) -> float:
    session = Session()
    size = session.execute(
        text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_inherits i ON i.inhrelid = c.oid "
            "WHERE i.inhparent = 'timed_belief'::regclass"
        )
    ).scalar()
    session.rollback()
    return float(size) / sensors


def train_all(sensor_ids: list[int]) -> tuple[float, float]:
    """``flask forecasts train`` over the fleet, one process per core: wall seconds, and
    the mean fit CPU per sensor (one fit serves the hour- to day-ahead horizons)."""
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    workers = []
    for part in range(cores):
        ids = sensor_ids[part::cores]
        command = [sys.executable, "-m", "flask", "--app", "bvp.app:create_app"]
        command += ["forecasts", "train", "--horizon", "P1D"]
        for sensor_id in ids:
            command += ["--sensor", str(sensor_id)]
        log = (LOG_DIR / f"bench-fleet-train-{part}.log").open("w")
        workers.append(
            subprocess.Popen(
                command, cwd=servers.REPO, env=ENV, stdout=log, stderr=subprocess.STDOUT
            )
        )
    for worker in workers:
        if worker.wait() != 0:
            raise SystemExit(f"training failed: see {LOG_DIR}/bench-fleet-train-*.log")
    wall = time.perf_counter() - started
    session = Session()
    fit = session.execute(text("SELECT avg(fit_seconds) FROM trained_model")).scalar()
    session.rollback()
    return wall, float(fit)


def post_cycle(
    base_url: str,
    token: str,
    sensor_ids: list[int],
    values: dict[int, np.ndarray],
    units: dict[int, str],
    step: int,
    spread: float,
) -> tuple[dict[int, float], list[float]]:
    """Every sensor posts its next quarter-hour, the posts spread evenly over ``spread``
    seconds (meters do not all report in the same millisecond); when each post returned,
    and each post's seconds."""
    start = NOW + step * QUARTER
    posted, latencies = {}, []
    first = time.perf_counter()

    def post(client: httpx.Client, sensor_id: int, due: float) -> None:
        time.sleep(max(0.0, first + due - time.perf_counter()))
        value, unit = values[sensor_id][step], units[sensor_id]
        body = {"start": start.isoformat(), "duration": "PT15M", "values": [value], "unit": unit}
        began = time.perf_counter()
        response = client.post(f"/api/v1/sensors/{sensor_id}/data", json=body)
        latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise SystemExit(f"POST for sensor {sensor_id}: {response.status_code} {response.text}")
        posted[sensor_id] = time.time()

    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=base_url, headers=headers, timeout=60) for _ in range(8)]
    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        due = spread / len(sensor_ids)
        list(
            pool.map(lambda i: post(clients[i % 8], sensor_ids[i], i * due), range(len(sensor_ids)))
        )
    for client in clients:
        client.close()
    return posted, latencies


def wait_for_forecasts(connection: redis.Redis, timeout: float = 3600) -> float:
    """Wall seconds until the forecasting queue is empty and nothing runs."""
    queue = get_queue(connection, "forecasting")
    started = time.perf_counter()
    while queue.count or queue.started_job_registry.count:
        if time.perf_counter() - started > timeout:
            raise SystemExit("the forecasts did not finish within the timeout")
        time.sleep(0.2)
    return time.perf_counter() - started


def day_ahead_latencies(
    connection: redis.Redis, posted: dict[int, float], step: int
) -> tuple[list, list]:
    """Per sensor: seconds from its post returning to its day-ahead job ending; and the
    size of each batch its jobs ran in (1: a job alone)."""
    from rq.job import Job

    from bvp.forecasting.job_ids import forecast_job_id

    origin = (NOW + (step + 1) * QUARTER).to_pydatetime()
    ids = [forecast_job_id(s, timedelta(days=1), origin) for s in posted]
    latencies, batches = [], {}
    for sensor_id, job in zip(posted, Job.fetch_many(ids, connection=connection), strict=True):
        if job is None or job.ended_at is None:
            raise SystemExit(f"no finished day-ahead job for sensor {sensor_id}")
        ended = job.ended_at if job.ended_at.tzinfo else job.ended_at.replace(tzinfo=UTC)
        latencies.append(ended.timestamp() - posted[sensor_id])
        batch = (job.latest_result().return_value or {}).get("batch")
        batches[batch["job"] if batch else job.id] = batch["sensors"] if batch else 1
    return latencies, list(batches.values())


def fleet_pages_ms(token: str, sensor_id: int) -> dict[str, float]:
    """Median milliseconds, with a fleet this size, of what an operator opens, served
    in-process with the run's settings: the dashboard's sensors page (every sensor with
    its newest value) for the fleet's user and one sensor's job list through the API;
    and of the query every POST makes for the sensors using the posted one as a
    regressor."""
    import re
    from unittest.mock import patch

    from bvp.app import create_app

    with patch.dict(os.environ, ENV):
        app = create_app()
    client = app.test_client()
    https = {"base_url": "https://localhost"}  # production's session cookie is Secure
    login = client.get("/dashboard/login", **https).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    credentials = {"email": "fleet@bvp.example", "password": "bench-password", "csrf_token": csrf}
    referer = {"Referer": "https://localhost/dashboard/login"}  # checked over HTTPS
    signed_in = client.post("/dashboard/login", data=credentials, headers=referer, **https)
    assert signed_in.status_code == 302, signed_in.text
    bearer = {"Authorization": f"Bearer {token}"}

    def median_ms(url: str, **kwargs) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get(url, **https, **kwargs)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        return float(np.median(times) * 1000)

    from bvp.data.models.sensors import sensors_using_as_regressor

    session = Session()
    lookups = []
    for _ in range(20):  # asked on every POST: which sensors forecast from this one's data
        started = time.perf_counter()
        sensors_using_as_regressor(session, sensor_id)
        lookups.append(time.perf_counter() - started)
    session.rollback()
    return {
        "sensors page": median_ms("/dashboard/sensors"),
        "a sensor's job list (API)": median_ms(f"/api/v1/sensors/{sensor_id}/jobs", headers=bearer),
        "the sensors using one as a regressor (every POST)": float(np.median(lookups) * 1000),
    }


def failed_jobs(connection: redis.Redis) -> int:
    return get_queue(connection, "forecasting").failed_job_registry.count


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument(
        "--spread", type=float, default=60.0, help="seconds over which a cycle's posts arrive"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=50,
        help="BVP_FORECAST_BATCH_SIZE of the workers (1: every job alone)",
    )
    parser.add_argument(
        "--cycles-only",
        action="store_true",
        help="reuse the fleet a previous run stored and trained: only run the cycles",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"# {platform.node()} {cores} cores, {time.strftime('%Y-%m-%d')}, {URL}", flush=True)
    if args.cycles_only:
        sensor_ids, upcoming, units, token, first_step = stored_fleet(args.sensors)
    else:
        sensor_ids, upcoming, units, token, load_seconds = setup(args.sensors)
        first_step = 0
        per_year = database_bytes_per_sensor_year(args.sensors)
        print(
            f"{args.sensors} sensors x a year of quarter-hours stored in {load_seconds:.0f} s; "
            f"beliefs table {per_year / 2**20:.1f} MiB per sensor-year",
            flush=True,
        )
        train_wall, fit_cpu = train_all(sensor_ids)
        print(
            f"training: {train_wall:.0f} s wall on {cores} processes; {fit_cpu:.2f} s CPU per "
            f"sensor per day (one LightGBM fit, a year of history, serves PT1H, PT6H and P1D)",
            flush=True,
        )
    ENV["BVP_FORECAST_BATCH_SIZE"] = str(args.batch_size)
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    port = servers.free_port()
    base_url = f"http://127.0.0.1:{port}"
    api = servers.start_gunicorn(port, 2, ENV)
    workers = [
        servers.start_forecasting_worker(
            f"bench-fleet-{os.getpid()}-{n}", ENV, LOG_DIR / f"bench-fleet-worker-{n}.log"
        )
        for n in range(cores)
    ]
    try:
        servers.wait_for_api(base_url, [api, *workers])
        time.sleep(5)  # the workers have imported their models and listen
        for step in range(first_step, first_step + args.cycles):
            cpu = cpu_seconds([w.pid for w in workers])
            began = time.perf_counter()
            posted, post_seconds = post_cycle(
                base_url, token, sensor_ids, upcoming, units, step, args.spread
            )
            posting = time.perf_counter() - began
            wait_for_forecasts(connection)
            cycle = time.perf_counter() - began
            jobs = len(sensor_ids) * len(covering_horizons(HORIZONS))
            used = cpu_seconds([w.pid for w in workers]) - cpu
            per_job = used / jobs
            latencies, batches = day_ahead_latencies(connection, posted, step)
            latency = np.array(latencies)
            post_ms = np.array(post_seconds) * 1000
            print(
                f"cycle {step - first_step + 1}: {len(sensor_ids)} one-value posts in "
                f"{posting:.0f} s "
                f"(p50 {np.percentile(post_ms, 50):.0f} ms, p99 "
                f"{np.percentile(post_ms, 99):.0f} ms); {len(sensor_ids)} sensors x "
                f"{len(HORIZONS)} horizons in {jobs} jobs; cycle "
                f"{cycle:.0f} s ({'within' if cycle <= 900 else 'OVER'} 15 min); "
                f"post -> day-ahead forecast p50 {np.percentile(latency, 50):.1f} s, "
                f"p95 {np.percentile(latency, 95):.1f} s; {per_job * 1000:.0f} ms CPU per "
                f"forecast job, {used / len(sensor_ids) / len(HORIZONS) * 1000:.0f} ms per "
                f"sensor and horizon; {len(batches)} batches (batch size "
                f"{args.batch_size}: mean {np.mean(batches):.1f}, largest {max(batches)}); "
                f"failed jobs {failed_jobs(connection)}",
                flush=True,
            )
        pages = fleet_pages_ms(token, sensor_ids[0])
        print(
            f"with {len(sensor_ids)} sensors: "
            + ", ".join(f"{what} {ms:.0f} ms" for what, ms in pages.items()),
            flush=True,
        )
    finally:
        servers.stop([api, *workers])
        connection.flushdb()


if __name__ == "__main__":
    main()
