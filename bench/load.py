"""Many clients posting one-day batches through the API while two workers forecast.

Starts BVP under gunicorn on 127.0.0.1 (production settings, a database of its own:
BVP_BENCH_DATABASE_URL, default `bvp_bench_load` on the local server, rebuilt from the
migrations; Redis db 9, flushed before and after) and two forecasting workers
(`flask run_forecasting_worker --queue forecasting`). Then ``--clients`` httpx async
clients, each a user of an account of its own with a bearer token, post one-day batches
(96 quarter-hour values) to their own sensors for ``--seconds``: successive days, so
every post stores new beliefs and enqueues forecasting jobs as in production. Each client
posts every ``--interval`` seconds (0: as fast as its responses come back), on a phase
of its own (random; ``--in-step``: all clients post at the same instant).

It prints requests/s, the posts' p50/p95/p99 latency, errors by status, the forecasting
queue's drain time after posting stops (until the queue is empty and no job runs), and
verifies that every posted value is stored exactly once (exit 1 if not, or if the queue
does not drain within ``--drain-timeout``). The workers log to
$TMPDIR/bench-load-worker-<n>.log. The rate limit
(BVP_RATE_LIMIT) is set to 1,000,000 per minute so that it never refuses a post; it is
still counted in Redis on every request, as in production.

Usage: python bench/load.py [--clients 50] [--seconds 60] [--interval 2] [--in-step]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import redis
from sqlalchemy import text

from bvp.app import fresh_database
from bvp.data.db import Session
from bvp.data.models import Account, Asset, Sensor, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.models.auth_tokens import issue_token
from bvp.data.passwords import hash_password
from bvp.queues import get_queue

sys.path.insert(0, str(Path(__file__).resolve().parent))
import processes as servers  # bench/processes.py, beside this file

REPO = Path(__file__).resolve().parent.parent
URL = os.environ.get(
    "BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_load"
)
REDIS_URL = os.environ.get("BVP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
QUARTER = timedelta(minutes=15)
DAY = pd.Timedelta(days=1)
FIRST_DAY = pd.Timestamp("2026-01-01T00:00Z")
LOG_DIR = Path(os.environ.get("TMPDIR", "/tmp"))
ENV = servers.production_env(URL, REDIS_URL)


@dataclass
class Client:
    token: str
    sensor_ids: list[int]
    posted: list[tuple[int, pd.Timestamp, list[float]]] = field(default_factory=list)
    failed: list[tuple[int, pd.Timestamp, list[float]]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    job_ids: set[str] = field(default_factory=set)


def setup(clients: int, sensors_per_client: int) -> list[Client]:
    """An account, an asset, sensors and a user with a token per client."""
    fresh_database(URL)
    session = Session()
    user_role = {r.name: r for r in ensure_roles(session)}["user"]
    password_hash = hash_password("bench-password")  # Argon2 is slow on purpose: once
    made = []
    for i in range(clients):
        account = Account(name=f"load {i}")
        asset = Asset(name=f"load {i}", asset_type="load", account=account, timezone="UTC")
        sensors = [
            Sensor(name=f"load {i}.{j}", unit="kW", event_resolution=QUARTER, asset=asset)
            for j in range(sensors_per_client)
        ]
        user = User(
            email=f"client{i}@bvp.example",
            password_hash=password_hash,
            account=account,
            roles=[user_role],
        )
        session.add_all([account, asset, user, *sensors])
        session.flush()
        token, _ = issue_token(session, user, timedelta(hours=3))
        made.append(Client(token, [s.id for s in sensors]))
    session.commit()
    return made


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    return servers.start_gunicorn(port, workers, ENV)


def start_forecasting_worker(number: int, niceness: int | None) -> subprocess.Popen:
    log = LOG_DIR / f"bench-load-worker-{number}.log"  # rq logs every job at INFO
    env = ENV if niceness is None else {**ENV, "BVP_WORKER_NICENESS": str(niceness)}
    return servers.start_forecasting_worker(f"bench-load-{os.getpid()}-{number}", env, log)


wait_for_api = servers.wait_for_api
stop = servers.stop


async def run_client(
    client: Client, http: httpx.AsyncClient, first_post: float, seconds: float, interval: float
) -> None:
    """Post successive days round-robin over the client's sensors, from ``first_post``
    (a ``perf_counter`` time) every ``interval`` seconds, until ``seconds`` have passed."""
    rng = random.Random(client.token)
    await asyncio.sleep(max(0.0, first_post - time.perf_counter()))
    next_post = first_post
    n = 0
    while time.perf_counter() - first_post < seconds:
        sensor_id = client.sensor_ids[n % len(client.sensor_ids)]
        day = FIRST_DAY + DAY * (n // len(client.sensor_ids))
        values = [round(rng.uniform(0, 5), 3) for _ in range(96)]
        body = {"start": day.isoformat(), "resolution": "PT15M", "values": values, "unit": "kW"}
        sent = time.perf_counter()
        try:
            response = await http.post(f"/api/v1/sensors/{sensor_id}/data", json=body)
        except httpx.TransportError as error:
            client.statuses[type(error).__name__] += 1
            client.failed.append((sensor_id, day, values))
        else:
            client.latencies.append(time.perf_counter() - sent)
            ok = response.status_code == 200 and response.json()["created"] == 96
            client.statuses[response.status_code if ok else f"{response.status_code}*"] += 1
            if ok:
                client.posted.append((sensor_id, day, values))
                client.job_ids.update(response.json()["forecasting_jobs"])
            else:
                client.failed.append((sensor_id, day, values))
        n += 1
        next_post = max(next_post + interval, time.perf_counter())
        await asyncio.sleep(next_post - time.perf_counter())


async def post_load(
    clients: list[Client], base_url: str, seconds: float, interval: float, in_step: bool
) -> float:
    """Every client posts on its own phase of ``interval`` (random, fixed), or all at once
    with ``in_step``. Returns the seconds from the first post to the last response.

    The HTTP clients are made before the first post is timed: making one takes tens of
    milliseconds of CPU (its TLS context), and made as the posting starts they held up the
    event loop for a second, so that the clients due in that second all posted at once.
    """
    rng = random.Random(9)
    https = [
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {c.token}"}, timeout=30
        )
        for c in clients
    ]
    start = time.perf_counter() + 0.5
    phases = [0.0 if in_step else rng.uniform(0, interval) for _ in clients]
    try:
        await asyncio.gather(
            *(
                run_client(client, http, start + phase, seconds, interval)
                for client, http, phase in zip(clients, https, phases, strict=True)
            )
        )
    finally:
        await asyncio.gather(*(http.aclose() for http in https))
    return time.perf_counter() - start


def forecasting_backlog(connection: redis.Redis) -> tuple[int, int, int]:
    """Jobs waiting, running, and scheduled for a retry on the forecasting queue."""
    queue = get_queue(connection, "forecasting")
    return queue.count, queue.started_job_registry.count, queue.scheduled_job_registry.count


def wait_for_drain(connection: redis.Redis, timeout: float) -> tuple[float, tuple[int, ...]]:
    start = time.perf_counter()
    while True:
        backlog = forecasting_backlog(connection)
        if not any(backlog) or time.perf_counter() - start > timeout:
            return time.perf_counter() - start, backlog
        time.sleep(0.1)


def verify(clients: list[Client]) -> list[str]:
    """Every value of an accepted post stored once under the client's source, with its
    value; a failed post stored whole or not at all; nothing else from those sources."""
    expected: dict[tuple[int, pd.Timestamp], float] = {}
    maybe: dict[tuple[int, pd.Timestamp], float] = {}
    for client in clients:
        for into, posts in ((expected, client.posted), (maybe, client.failed)):
            for sensor_id, day, values in posts:
                events = pd.date_range(day, periods=96, freq=QUARTER)
                into.update(((sensor_id, e), v) for e, v in zip(events, values, strict=True))
    session = Session()
    rows = session.execute(
        text(
            "SELECT tb.sensor_id, tb.event_start, tb.event_value FROM timed_belief tb "
            "JOIN data_source ds ON ds.id = tb.source_id WHERE ds.type = 'user'"
        )
    ).all()
    session.rollback()
    stored = pd.DataFrame(rows, columns=["sensor_id", "event_start", "event_value"])
    problems = []
    duplicates = stored.duplicated(["sensor_id", "event_start"]).sum()
    if duplicates:
        problems.append(f"{duplicates} events stored more than once")
    found = {
        (s, pd.Timestamp(e)): v
        for s, e, v in stored.drop_duplicates(["sensor_id", "event_start"]).itertuples(index=False)
    }
    missing = [key for key in expected if key not in found]
    wrong = [key for key, v in expected.items() if key in found and found[key] != v]
    extra = [key for key in found if key not in expected and key not in maybe]
    if missing:
        problems.append(f"{len(missing)} posted values missing, e.g. {missing[0]}")
    if wrong:
        problems.append(f"{len(wrong)} values differ, e.g. {wrong[0]}")
    if extra:
        problems.append(f"{len(extra)} stored values never posted, e.g. {extra[0]}")
    partial = {(s, d) for (s, e) in maybe if (s, e) in found for d in [e.normalize()]}
    for sensor_id, day in partial:
        events = pd.date_range(day, periods=96, freq=QUARTER)
        if not all((sensor_id, e) in found for e in events):
            problems.append(f"failed post to sensor {sensor_id} on {day:%Y-%m-%d} half stored")
    if len(found) != len(expected) + sum(1 for key in maybe if key in found):
        problems.append(f"{len(found)} events stored for {len(expected)} posted")
    return problems


def job_runs() -> Counter:
    session = Session()
    counts = Counter(
        dict(session.execute(text("SELECT status, count(*) FROM job_run GROUP BY status")).all())
    )
    session.rollback()
    return counts


def report_posts(
    clients: list[Client], seconds: float, backlog: tuple[int, int, int]
) -> tuple[float, dict]:
    """Print the posting figures; return the p99 latency (ms) and the errors by status."""
    latencies = np.array([x for c in clients for x in c.latencies]) * 1000
    statuses = sum((c.statuses for c in clients), Counter())
    requests = sum(statuses.values())
    errors = {k: n for k, n in statuses.items() if k != 200}
    p50, p95, p99, most = (
        np.percentile(latencies, [50, 95, 99, 100]) if len(latencies) else [np.nan] * 4
    )
    jobs = set().union(*(c.job_ids for c in clients))
    print(f"posts             {requests:,} in {seconds:.1f} s: {requests / seconds:.1f} requests/s")
    print(f"values stored     {sum(len(c.posted) for c in clients) * 96:,}")
    print(f"latency (ms)      p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {most:.1f}")
    print(f"errors            {sum(errors.values())} {errors if errors else ''}")
    print(
        f"forecasting jobs  {len(jobs):,} enqueued by the posts; when posting stopped "
        f"{backlog[0]:,} waiting, {backlog[1]} running",
        flush=True,
    )
    return p99, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--sensors-per-client", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60, help="how long the clients post")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between a client's posts (0: none)"
    )
    parser.add_argument(
        "--in-step",
        action="store_true",
        help="all clients post at the same instant (default: each on a random phase)",
    )
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--forecasting-workers", type=int, default=2)
    parser.add_argument(
        "--worker-niceness",
        type=int,
        help="BVP_WORKER_NICENESS for the forecasting workers (default: the setting's, 10)",
    )
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--drain-timeout", type=float, default=900)
    args = parser.parse_args()
    if not port_is_free(args.port):
        raise SystemExit(f"port {args.port} is taken; pick another with --port")

    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    started = time.perf_counter()
    clients = setup(args.clients, args.sensors_per_client)
    base_url = f"http://127.0.0.1:{args.port}"
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, {URL}")
    print(
        f"# gunicorn {args.gunicorn_workers} sync workers on 127.0.0.1:{args.port}, "
        f"{args.forecasting_workers} forecasting workers (niceness "
        f"{'default' if args.worker_niceness is None else args.worker_niceness}), "
        f"Redis {REDIS_URL}"
    )
    print(
        f"# {args.clients} clients x {args.sensors_per_client} sensor(s), one-day posts "
        f"(96 values) every {args.interval:g} s per client"
        f"{', all in step' if args.in_step else ', each on its own phase'}, "
        f"for {args.seconds:g} s; "
        f"set up in {time.perf_counter() - started:.1f} s\n"
    )
    processes: list[subprocess.Popen] = []
    try:
        processes.append(start_gunicorn(args.port, args.gunicorn_workers))
        processes += [
            start_forecasting_worker(i, args.worker_niceness)
            for i in range(args.forecasting_workers)
        ]
        wait_for_api(base_url, processes)
        time.sleep(2)  # the forecasting workers are up and idle

        posting = asyncio.run(
            post_load(clients, base_url, args.seconds, args.interval, args.in_step)
        )
        backlog_at_stop = forecasting_backlog(connection)
        p99, errors = report_posts(clients, posting, backlog_at_stop)
        drain, backlog = 0.0, backlog_at_stop
        if args.forecasting_workers:
            drain, backlog = wait_for_drain(connection, args.drain_timeout)
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a server process died during the run")
    finally:
        stop(processes)

    if not args.forecasting_workers:
        print("queue drain       no forecasting workers (--forecasting-workers 0)")
    elif any(backlog):
        print(f"queue drain       NOT drained within {args.drain_timeout:g} s: {backlog} left")
    else:
        print(f"queue drain       {drain:.1f} s after posting stopped")
    runs = job_runs()
    print(f"job attempts      {dict(runs)} ({sum(runs.values()) / (posting + drain):.1f}/s)")

    problems = verify(clients)
    connection.flushdb()
    if problems:
        print("verification      FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("verification      every posted value stored exactly once, values equal")
    target = p99 < 250 and not errors
    print(f"\ntarget (0 errors, p99 < 250 ms): {'met' if target else 'NOT met'}")
    return 1 if args.forecasting_workers and any(backlog) else 0


if __name__ == "__main__":
    sys.exit(main())
