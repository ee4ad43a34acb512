"""The embedded quickstart: with no database or Redis configured, development starts its
own PostgreSQL and Redis under a data directory, and every later process finds them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from bvp import embedded
from tests.conftest import REPO


@pytest.fixture
def bare_environment(tmp_path):
    """Development with nothing configured: no BVP_* variables, no .env, no config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BVP_")}
    env.update(
        BVP_ENV="development",
        BVP_EMBEDDED_DIR=str(tmp_path / "data"),
        BVP_DOTENV=str(tmp_path / "no.env"),
        BVP_CONFIG_FILE=str(tmp_path / "empty_config.py"),
    )
    (tmp_path / "empty_config.py").write_text("")
    yield env
    embedded.stop(tmp_path / "data")


def flask(env, *args, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_flask_commands_start_and_share_embedded_servers(bare_environment, tmp_path):
    first = flask(bare_environment, "embedded", "status")
    data = tmp_path / "data"
    assert f"postgresql://postgres@/bvp?host={data}/pg" in first.stdout
    assert f"unix://{data}/redis/redis.sock?db=0" in first.stdout
    # The commands it prints work as printed (redis-cli takes no unix:// URL).
    said = dict(line.split(" ", 1) for line in first.stdout.splitlines() if " " in line)
    pong = subprocess.run(
        [*shlex.split(said["redis-cli"]), "ping"], capture_output=True, text=True, timeout=10
    )
    assert pong.stdout.strip() == "PONG", pong.stderr
    selected = subprocess.run(
        [*shlex.split(said["psql"]), "-Atc", "SELECT 1"], capture_output=True, text=True
    )
    assert selected.stdout.strip() == "1", selected.stderr
    created = flask(bare_environment, "db_create")
    assert "Database bvp already exists." in created.stdout  # its name, not the socket's dir
    flask(bare_environment, "db", "upgrade")
    current = flask(bare_environment, "db", "current")
    assert "(head)" in current.stdout  # a second process found the same database
    jobs = flask(bare_environment, "jobs", "list")
    assert "forecasting: 0 waiting" in jobs.stdout  # and the same Redis

    stopped = flask(bare_environment, "embedded", "stop")
    assert "stopped redis, postgresql" in stopped.stdout
    assert embedded.running(data) == embedded.EmbeddedServers(None, None)


def test_configured_servers_are_used_and_nothing_embedded_starts(bare_environment, tmp_path):
    env = {
        **bare_environment,
        "BVP_DATABASE_URL": os.environ.get(
            "BVP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        "BVP_REDIS_URL": "redis://127.0.0.1:6379/14",
    }
    status = flask(env, "embedded", "status")
    assert "configured, not embedded" in status.stdout
    assert not (tmp_path / "data" / "pg").exists()


def test_a_worker_names_the_redis_it_uses_without_its_password():
    from bvp.cli.workers import _safe as shown

    assert shown("unix:///srv/bvp/.bvp/redis/redis.sock?db=0") == (
        "unix:///srv/bvp/.bvp/redis/redis.sock?db=0"  # was localhost:6379/0
    )
    assert shown("redis://:s3cret@cache.example:6380/3") == "cache.example:6380/3"
