"""./tasks as a newcomer types it: help is help, and a typo starts nothing."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO


def tasks(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(REPO / "tasks"), *args], capture_output=True, text=True, timeout=timeout, cwd="/"
    )


@pytest.mark.parametrize("args", [("help",), ("--help",), ("-h",), ("demo", "--help")])
def test_help_prints_the_usage_and_succeeds(args):
    done = tasks(*args)
    assert done.returncode == 0, done.stderr
    assert "Usage: ./tasks <demo|test|" in done.stdout
    assert "demo --stop ends what it started" in done.stdout
    assert done.stderr == ""  # and starts nothing (the demo would log its steps)


@pytest.mark.parametrize(
    ("args", "message"),
    [(("nope",), "unknown task: nope"), (("demo", "--stpo"), "unknown option for demo: --stpo")],
)
def test_a_typo_is_named_and_starts_nothing(args, message):
    done = tasks(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_fast_leaves_out_the_slow_tests_and_the_run_says_how_long_it_took():
    modules = ("tests/forecasting/test_jobs.py", "tests/test_tasks.py")
    done = tasks(
        "test", "--fast", "--collect-only", "-q", *(str(REPO / m) for m in modules), timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tests/forecasting/test_jobs.py::" in done.stdout
    assert "tests/test_tasks.py::" not in done.stdout  # these start ./tasks: slow
    assert "deselected" in done.stdout
    assert "tests took" in done.stdout
