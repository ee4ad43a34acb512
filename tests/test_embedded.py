"""The embedded quickstart: with no database or Redis configured, development starts its
own PostgreSQL and Redis under a data directory, and every later process finds them."""

from __future__ import annotations

import os
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
