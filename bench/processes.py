"""The servers a benchmark starts: BVP under gunicorn, and forecasting workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def production_env(database_url: str, redis_url: str, **extra: str) -> dict:
    """The environment of BVP processes a benchmark starts: production settings on the
    benchmark's own database and Redis, one thread per model, no rate limit in the way
    (it is still counted in Redis on every request, as in production)."""
    return {
        **os.environ,
        "BVP_ENV": "production",
        "BVP_DATABASE_URL": database_url,
        "BVP_REDIS_URL": redis_url,
        "BVP_SECRET_KEY": "bench-only",
        "BVP_RATE_LIMIT": "1000000 per minute",
        "BVP_LOG_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "bvp.app:create_app()",
        ],
        cwd=REPO,
        env=env,
    )


def start_forecasting_worker(name: str, env: dict, log: Path) -> subprocess.Popen:
    """``flask run_forecasting_worker`` on the forecasting queue; rq logs every job."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "bvp.app:create_app",
            "run_forecasting_worker",
            "--queue",
            "forecasting",
            "--name",
            name,
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for_api(base_url: str, processes: list[subprocess.Popen]) -> None:
    for _ in range(200):
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a server process exited at start")
        try:
            if httpx.get(f"{base_url}/healthcheck", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not come up")


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process we started (rq workers finish their job), then SIGKILL."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
