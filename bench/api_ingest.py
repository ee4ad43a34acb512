"""The API under gunicorn: seconds per POST of 96, 672 and 35,040 values, GET of a year.

Starts BVP under gunicorn on 127.0.0.1 (production settings, a database of its own:
BVP_BENCH_API_DATABASE_URL, default `bvp_bench_api` on the local server; Redis db 14),
posts fresh windows (median of 5 each, so every POST stores new beliefs and enqueues
forecasting jobs as in production), reads a sensor-year back, and times
``save_beliefs``/``latest_beliefs`` called directly on the same rows in the same run.

Usage: python bench/api_ingest.py
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from bvp.app import fresh_database
from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.db import Session
from bvp.data.models import Account, Asset, Sensor, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.models.auth_tokens import issue_token
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.passwords import hash_password

sys.path.insert(0, str(Path(__file__).resolve().parent))
import processes as servers  # bench/processes.py, beside this file

REPO = Path(__file__).resolve().parent.parent
URL = os.environ.get(
    "BVP_BENCH_API_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_api"
)
REDIS_URL = os.environ.get("BVP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
REPEATS = 5
QUARTER = timedelta(minutes=15)
BASE = pd.Timestamp("2020-01-01T00:00Z")


def setup() -> tuple[int, int, str]:
    fresh_database(URL)
    session = Session()
    roles = {r.name: r for r in ensure_roles(session)}
    account = Account(name="bench")
    asset = Asset(name="bench", asset_type="pv", account=account)
    api_sensor, direct_sensor = (
        Sensor(name=name, unit="kW", event_resolution=QUARTER, asset=asset)
        for name in ("via api", "direct")
    )
    user = User(
        email="bench@bvp.example",
        password_hash=hash_password("bench-password"),
        account=account,
        roles=[roles["user"]],
    )
    session.add_all([account, asset, api_sensor, direct_sensor, user])
    session.flush()
    token, _ = issue_token(session, user, timedelta(hours=2))
    session.commit()
    return api_sensor.id, direct_sensor.id, token


def start_gunicorn(port: int) -> subprocess.Popen:
    env = servers.production_env(URL, REDIS_URL)
    process = servers.start_gunicorn(port, 2, env)
    servers.wait_for_api(f"http://127.0.0.1:{port}", [process])
    return process


def main() -> None:
    api_sensor, direct_sensor, token = setup()
    session = Session()
    source_id = get_or_create_source(session, "bench direct", "script").id
    session.commit()
    port = servers.free_port()
    server = start_gunicorn(port)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    print(f"# gunicorn, 2 workers, 127.0.0.1; median of {REPEATS} POSTs, each a fresh window\n")
    print(f"{'values':>7} {'POST s':>8} {'values/s':>10} {'direct s':>9} {'POST/direct':>12}")
    rng = np.random.default_rng(3)
    window_start = BASE
    try:
        for n in (96, 672, 35_040):
            post_times, direct_times = [], []
            for _ in range(REPEATS):
                values = np.round(rng.random(n) * 5, 3)
                body = {
                    "start": window_start.isoformat(),
                    "resolution": "PT15M",
                    "values": values.tolist(),
                    "unit": "kW",
                }
                start = time.perf_counter()
                response = client.post(f"/api/v1/sensors/{api_sensor}/data", json=body)
                post_times.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
                assert response.json()["created"] == n, response.text
                events = pd.date_range(window_start, periods=n, freq=QUARTER)
                start = time.perf_counter()
                save_beliefs(
                    session,
                    {"event_start": events, "event_value": values},
                    sensor_id=direct_sensor,
                    source_id=source_id,
                    belief_time=pd.Timestamp.now(tz="UTC").to_pydatetime(),
                )
                session.commit()
                direct_times.append(time.perf_counter() - start)
                window_start += QUARTER * n
            post, direct = statistics.median(post_times), statistics.median(direct_times)
            print(f"{n:>7,} {post:>8.4f} {n / post:>10,.0f} {direct:>9.4f} {post / direct:>11.2f}x")

        # Read back the last sensor-year posted.
        year_start = window_start - QUARTER * 35_040
        query = {"start": year_start.isoformat(), "end": window_start.isoformat()}
        get_times, direct_read = [], []
        for _ in range(REPEATS):
            start = time.perf_counter()
            response = client.get(f"/api/v1/sensors/{api_sensor}/data", params=query)
            get_times.append(time.perf_counter() - start)
            assert len(response.json()["values"]) == 35_040
            start = time.perf_counter()
            latest_beliefs(session, direct_sensor, year_start, window_start)
            session.commit()
            direct_read.append(time.perf_counter() - start)
        get, read = statistics.median(get_times), statistics.median(direct_read)
        print(f"\nGET a sensor-year (35,040 values): {get:.4f} s via the API, {read:.4f} s direct")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
