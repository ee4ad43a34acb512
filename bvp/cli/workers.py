"""flask run_forecasting_worker (and python worker.py, the same command): consume
forecasting jobs from Redis.

A worker on both queues (the default, unless ``--burst``) runs as two processes: this
one forecasts, and a companion chooses models (the model-selection queue) at the lowest
CPU priority. A selection backtests every model over 28 days, seconds to a minute of
work; run in the forecasting process it would hold up every forecast queued behind it.
In its own process, a forecast the API or a data POST asks for starts at once, and takes
the CPU it needs from the selection (nice 19 weighs a seventh of nice 10). The companion
ends with its worker: stopped with it, and killed by the kernel should the worker be
killed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import click
from flask.cli import ScriptInfo, with_appcontext
from redis.connection import parse_url

from bvp.app import create_app
from bvp.config import Settings, app_settings
from bvp.forecasting.workers import run_in_background, run_worker
from bvp.queues import QUEUE_NAMES

SELECTION_QUEUE = "model-selection"
SELECTION_NICENESS = 19
PR_SET_PDEATHSIG = 1


@click.command("run_forecasting_worker")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queue(s) to listen on, in priority order (repeatable). Default: forecasting, "
    "and model-selection in a companion process at the lowest CPU priority.",
)
@click.option("--name", default=None, help="Worker name, unique per Redis (default: generated).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def run_forecasting_worker(queues: tuple[str, ...], name: str | None, burst: bool) -> None:
    """Run an rq worker; start as many as you like, on as many machines as you like."""
    serve(app_settings(), list(queues), name, burst, click.echo)


def serve(
    settings: Settings,
    queues: list[str],
    name: str | None,
    burst: bool,
    echo: Callable[[str], None] = print,
) -> bool:
    """Run a worker on ``queues`` (default: all forecasting work) until stopped."""
    jobs, workers = settings.jobs, settings.workers
    queues = queues or [jobs.queue, SELECTION_QUEUE]
    companion = None
    if SELECTION_QUEUE in queues and len(queues) > 1 and not burst:
        # (a burst run is batch work: its forecasts queue selections it must run too)
        queues = [q for q in queues if q != SELECTION_QUEUE]
        companion = start_selection_companion(name)
        echo(f"Model selection runs beside it, in process {companion.pid} at nice 19")
    priority = run_in_background(workers.niceness)  # horses inherit it
    # model selection and training are long: they always run in a forked, killable horse
    in_process = workers.jobs == "in-process" and SELECTION_QUEUE not in queues
    echo(
        f"Worker {name or '(unnamed)'} listening on {', '.join(queues)} at "
        f"{_safe(jobs.redis_url)}; CPU priority: {priority}; jobs "
        + ("in its own process" if in_process else "in a forked work horse each")
    )
    try:
        return run_worker(jobs, workers, queues, name=name, burst=burst, in_process=in_process)
    finally:
        if companion is not None:
            companion.send_signal(signal.SIGTERM)  # rq's warm shutdown: ends its job first
            companion.wait()


def start_selection_companion(name: str | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "bvp.cli.workers", "--queue", SELECTION_QUEUE]
    if name:
        command += ["--name", f"{name}-selection"]
    environment = {**os.environ, "BVP_WORKER_NICENESS": str(SELECTION_NICENESS)}
    return subprocess.Popen(command, env=environment, preexec_fn=_end_with_parent)


def _end_with_parent() -> None:
    """In the companion, before it runs: the kernel sends it SIGTERM if its worker dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: stopped with its worker only
        pass


def _safe(url: str) -> str:
    parts = parse_url(url)  # without the password
    if "path" in parts:  # a unix socket (the embedded Redis)
        return f"unix://{parts['path']}?db={parts.get('db', 0)}"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 6379)}/{parts.get('db', 0)}"


def main(argv: list[str] | None = None) -> None:
    """`python worker.py` and the selection companion: `flask run_forecasting_worker`
    itself, its options and start-up, without FLASK_APP. A bad setting stops it as it
    stops `flask`: with the variable's name, and exit status 1."""
    run_forecasting_worker.main(
        argv, prog_name=os.path.basename(sys.argv[0]), obj=ScriptInfo(create_app=create_app)
    )


if __name__ == "__main__":
    main()
