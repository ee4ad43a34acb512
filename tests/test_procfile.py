"""The Procfile, run as operators run it (honcho): the API answers, the workers and the
cron scheduler run, and stopping honcho leaves no BVP process behind."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_honcho_runs_the_procfile_and_a_stop_ends_every_process(app, redis):
    port = _free_port()
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-c", "worker=1", "-p", str(port)],
        cwd=REPO,
        # as in an activated venv: its gunicorn and flask first on the PATH
        env={
            **os.environ,
            "BVP_ENV": "testing",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes = []
    try:
        health = _healthy_with_workers(port, workers=2, within=120)  # the worker + companion
        assert health["status"] == "healthy" and health["warnings"] == [], health
        processes = psutil.Process(honcho.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in processes]
        assert any("gunicorn" in c for c in commands)
        assert any("run_forecasting_worker" in c for c in commands)
        assert any("forecasts cron" in c for c in commands)
    finally:
        honcho.send_signal(signal.SIGTERM)  # as a process manager (or Ctrl-C) stops it
        output = honcho.communicate(timeout=90)[0]
    _, alive = psutil.wait_procs(processes, timeout=30)
    assert alive == [], output
    assert honcho.returncode is not None


def _healthy_with_workers(port: int, workers: int, within: float) -> dict:
    deadline = time.monotonic() + within
    health: dict = {}
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=5).json()
            if health.get("redis", {}).get("workers", 0) >= workers:
                return health
        except (httpx.HTTPError, ValueError):
            pass  # not listening yet
        time.sleep(0.5)
    raise AssertionError(f"no healthy API with {workers} workers within {within} s: {health}")
