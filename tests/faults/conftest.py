"""Real processes and private servers for fault tests.

The shared PostgreSQL and Redis are never stopped: each test run starts its own
PostgreSQL (pgserver, on a unix socket) and its own Redis (``redis-server`` on a free
loopback port), which the tests stop and start again. The API (gunicorn) and the
workers run as subprocesses with production settings pointing at those servers; this
process only seeds data, sends requests and reads the outcome, through an engine of its
own (never ``bvp.data.db``'s, which the rest of the suite shares).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import redis as redis_client
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

REPO = Path(__file__).resolve().parents[2]
ORIGIN = pd.Timestamp("2024-06-03T00:00Z")  # the end of the seeded history
HORIZON = timedelta(days=1)  # the only horizon the processes forecast at
ROWS_PER_FORECAST = 96  # one day of quarter-hours, p50 only (the naive model)


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- private Redis ------------------------------------------------------------------------


class RedisServer:
    """``redis-server`` on a loopback port of its own, no persistence; stop() and start()."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            from bvp.embedded import _redis_binary

            binary = _redis_binary()
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--logfile", str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.answers, 10, f"private Redis on port {self.port} answers")

    def answers(self) -> bool:
        try:
            with redis_client.Redis.from_url(self.url, socket_connect_timeout=1) as probe:
                return bool(probe.ping())
        except redis_client.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture(scope="session")
def fault_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: pgserver runs PostgreSQL as its own user when we are root,
    # and pytest's temporary directories are private to us; socket paths must be short.
    directory = Path(tempfile.mkdtemp(prefix="bvp-faults-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(fault_dir) -> Iterator[RedisServer]:
    (fault_dir / "redis").mkdir()
    server = RedisServer(fault_dir / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_redis(redis_server) -> Iterator[redis_client.Redis]:
    """The private Redis, running and empty (it may have been stopped by a test)."""
    if not redis_server.answers():
        redis_server.start()
    connection = redis_client.Redis.from_url(redis_server.url, socket_timeout=10)
    connection.flushall()
    yield connection
    connection.close()


# -- private PostgreSQL -------------------------------------------------------------------


class PostgresServer:
    """pgserver's PostgreSQL in a directory of its own (bvp.embedded), stoppable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def start(self) -> str:
        # pgserver remembers a server it started in this process as running: have it
        # look at the data directory again.
        import pgserver

        from bvp.embedded import ensure_running

        pgserver.get_server(self.directory / "pg", cleanup_mode=None).ensure_postgres_running()
        url = ensure_running(self.directory, postgres=True, redis=False).database_url
        assert url is not None
        self.url = url
        return url

    def stop(self) -> None:
        from bvp.embedded import stop

        stop(self.directory)


@pytest.fixture(scope="session")
def postgres_server(fault_dir) -> Iterator[PostgresServer]:
    from alembic import command

    from bvp.app import alembic_config
    from bvp.embedded import ensure_running

    directory = fault_dir / "embedded"
    with warnings.catch_warnings():  # platformdirs, when XDG_RUNTIME_DIR is not set
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        url = ensure_running(directory, postgres=True, redis=False).database_url
    server = PostgresServer(directory)
    server.url = url
    try:
        engine = create_engine(url)
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        engine.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg(postgres_server) -> Iterator[sessionmaker[Session]]:
    """Sessions on the private PostgreSQL, running with empty tables (this process's own
    engine, in UTC)."""
    from bvp.data.db import Base

    if not (postgres_server.directory / "pg" / "postmaster.pid").exists():
        postgres_server.start()
    engine = create_engine(
        postgres_server.url, connect_args={"options": "-c timezone=UTC"}, pool_pre_ping=True
    )
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@dataclass
class World:
    sensor_id: int
    token: str


@pytest.fixture
def world(pg) -> World:
    """An account with a 15-minute kW sensor, a user who may write to it (and a token),
    and the meter's data source."""
    from bvp.data.models import Account, Asset, DataSource, Sensor, User
    from bvp.data.models.accounts import ensure_roles
    from bvp.data.models.auth_tokens import issue_token

    with pg() as session:
        roles = {role.name: role for role in ensure_roles(session)}
        account = Account(name="faulty", timezone="Europe/Amsterdam")
        asset = Asset(name="PV", asset_type="pv", account=account, timezone="Europe/Amsterdam")
        sensor = Sensor(
            name="power",
            unit="kW",
            event_resolution=timedelta(minutes=15),
            timezone="Europe/Amsterdam",
            asset=asset,
        )
        user = User(
            email="user@faulty.example",
            password_hash="not-a-password-hash: this user signs in by token only",
            account=account,
            roles=[roles["user"]],
        )
        session.add_all([account, asset, sensor, user, DataSource(name="meter", type="user")])
        session.flush()
        token, _ = issue_token(session, user, timedelta(hours=1))
        session.commit()
        return World(sensor.id, token)


def seed_history(pg, sensor_id: int, days: int, until: pd.Timestamp = ORIGIN) -> None:
    """Quarter-hourly measurements of a daily curve with noise, ending at ``until``."""
    from bvp.data.beliefs import save_beliefs

    events = pd.date_range(until - pd.Timedelta(days=days), until, freq="15min", inclusive="left")
    hours = (events.hour + events.minute / 60).to_numpy()
    noise = np.random.default_rng(7).normal(0, 0.2, len(events))
    values = np.sin(np.pi * np.clip(hours - 6, 0, 12) / 12) * 5 + noise
    with pg() as session:
        save_beliefs(
            session,
            {"event_start": events, "event_value": values},
            sensor_id=sensor_id,
            source_id=1,
            belief_time=until.to_pydatetime(),
        )
        session.commit()


def forecast_rows(pg, sensor_id: int) -> dict[pd.Timestamp, int]:
    """Forecast rows stored per origin (belief time)."""
    from bvp.data.models import DataSource, TimedBelief

    with pg() as session:
        rows = session.execute(
            select(TimedBelief.belief_time, func.count())
            .join(DataSource, DataSource.id == TimedBelief.source_id)
            .where(TimedBelief.sensor_id == sensor_id, DataSource.type == "forecaster")
            .group_by(TimedBelief.belief_time)
        ).all()
    return {pd.Timestamp(t): n for t, n in rows}


def finished_runs(pg, job_id: str) -> int:
    """Attempts of ``job_id`` that finished, as the workers recorded them."""
    from bvp.data.models.job_runs import FINISHED, JobRun

    with pg() as session:
        return session.scalar(
            select(func.count())
            .select_from(JobRun)
            .where(JobRun.job_id == job_id, JobRun.status == FINISHED)
        )


def each_finished_once(pg, job_ids: list[str]) -> None:
    """Wait until each job's finished attempt is on record, once: a worker records it just
    after rq marks the job finished, so a test that saw "finished" may be a moment early."""
    wait_for(
        lambda: [finished_runs(pg, j) for j in job_ids] == [1] * len(job_ids),
        10,
        "each job's finished attempt recorded once",
    )


@contextmanager
def sensor_held(pg, sensor_id: int) -> Iterator[None]:
    """Hold the sensor's row locked, as a long transaction elsewhere could: a forecast job
    then computes its forecast and waits, its transaction open, at the write (which takes
    a key-share lock on the sensor). A job held here is mid-job for as long as we like."""
    from bvp.data.models import Sensor

    with pg() as session:
        session.execute(select(Sensor.id).where(Sensor.id == sensor_id).with_for_update())
        try:
            yield
        finally:
            try:
                session.rollback()
            except OperationalError:  # the server was stopped meanwhile: the lock is gone
                pass


def jobs_waiting_at_the_write(pg) -> int:
    """BVP connections (jobs) waiting for a lock right now."""
    with pg() as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'bvp' AND wait_event_type = 'Lock'"
            )
        )


# -- processes ----------------------------------------------------------------------------


def process_env(postgres_server: PostgresServer, redis_server: RedisServer, **extra) -> dict:
    """Production settings on the private servers; short worker intervals."""
    env = {
        **os.environ,
        "BVP_ENV": "production",
        "BVP_DATABASE_URL": postgres_server.url,
        "BVP_REDIS_URL": redis_server.url,
        "BVP_SECRET_KEY": "faults-only",
        "BVP_DOTENV": os.devnull,
        "BVP_LOG_LEVEL": "INFO",
        "BVP_FORECAST_HORIZONS": "P1D",
        "BVP_MODEL_MAX_AGE_DAYS": "10000",  # no backtests: these tests are about faults
        "BVP_WORKER_MAINTENANCE_SECONDS": "1",
        "BVP_JOB_HEARTBEAT_SECONDS": "1",
        "BVP_DB_POOL_SIZE": "2",
    }
    env.update(extra)
    return env


class Processes:
    """Subprocesses started by a test, each in its own session; all ended at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "w")
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_path = self.directory / f"{name}.log"  # type: ignore[attr-defined]
        process.log_file = log  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def worker(self, name: str, env: dict, burst: bool = False) -> subprocess.Popen:
        command = [sys.executable, "-m", "flask", "run_forecasting_worker", "--name", name]
        command += ["--queue", "forecasting"] + (["--burst"] if burst else [])
        return self.start(name, command, env)

    def end_all(self) -> None:
        """SIGTERM to each process group, SIGKILL to what is left after a few seconds, and
        to any work horse (rq puts each horse in a process group of its own)."""
        horses = [horse for process in self.started for horse in children(process.pid)]
        for process in self.started:
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in self.started:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(10)
            process.log_file.close()  # type: ignore[attr-defined]
        for horse in horses:
            _signal_group(horse, signal.SIGKILL)


def _signal_group(pid: int, signal_number: int) -> None:
    try:
        os.killpg(pid, signal_number)
    except ProcessLookupError:
        pass


def children(pid: int) -> list[int]:
    """Child process ids of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def log_of(process: subprocess.Popen) -> str:
    return process.log_path.read_text(errors="replace")  # type: ignore[attr-defined]


@pytest.fixture
def processes(fault_dir, request) -> Iterator[Processes]:
    directory = fault_dir / "logs" / request.node.name
    directory.mkdir(parents=True)
    started = Processes(directory)
    yield started
    started.end_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # show what the processes said
        for process in started.started:
            tail = log_of(process)[-3000:]
            print(f"\n--- {' '.join(map(str, process.args))} ---\n{tail}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


class Api:
    """The API under gunicorn (two workers), a client with a timeout and the user's token."""

    def __init__(self, process: subprocess.Popen, port: int, token: str) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def healthy(self) -> bool:
        try:
            return self.client.get("/healthcheck", timeout=5).status_code == 200
        except httpx.TransportError:
            return False


@pytest.fixture
def api(processes, postgres_server, redis_server, private_redis, world) -> Iterator[Api]:
    port = free_port()
    env = process_env(postgres_server, redis_server, BVP_RATE_LIMIT="100000 per minute")
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--timeout", "60", "--graceful-timeout", "5", "bvp.app:create_app()"]
    process = processes.start("gunicorn", command, env)
    api = Api(process, port, world.token)
    wait_for(
        lambda: api.healthy() or process.poll() is not None, 60, "the API answers its healthcheck"
    )
    assert process.poll() is None, log_of(process)
    yield api
    api.client.close()
