"""BVP as an operator installs it: a wheel built from the checkout, installed in a fresh
venv, migrates an empty database with `flask db upgrade` and answers as `bvp` from any
directory, with no checkout in sight.

The fresh venv gets BVP from the wheel only; its dependencies come from this test run's
environment through a .pth file (installing pandas, LightGBM and statsforecast again from
PyPI would take minutes and prove nothing about BVP's own packaging).
"""

import os
import subprocess
import sys
import sysconfig
import zipfile

import psycopg2
import pytest
from sqlalchemy import make_url

from tests.conftest import REPO, psycopg2_dsn

NEWEST_MIGRATION = sorted((REPO / "migrations" / "versions").glob("[0-9]*.py"))[-1].name[:4]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of the checkout's files (tracked or new, not ignored), as a clean clone
    would build it."""
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        original, copy = REPO / name, source / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if original.is_symlink():  # bvp/migrations -> ../migrations
            copy.symlink_to(os.readlink(original))
        elif original.is_file():
            copy.write_bytes(original.read_bytes())
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, source],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    # setuptools names every directory it would leave out of the wheel
    assert "is absent from the `packages` configuration" not in built.stdout + built.stderr
    return next(dist.glob("bvp-*.whl"))


def test_the_wheel_holds_the_migrations_the_dashboard_and_the_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"bvp/migrations/env.py", "bvp/migrations/alembic.ini"} <= names
    assert "bvp/migrations/script.py.mako" in names
    versions = {n for n in names if n.startswith("bvp/migrations/versions/0")}
    assert len(versions) == int(NEWEST_MIGRATION)
    assert {"bvp/ui/templates/sensor.html", "bvp/ui/static/dashboard.css"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)[-8:]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "bvp = bvp.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_a_wheel_in_a_fresh_venv_migrates_an_empty_database(wheel, tmp_path, app):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    purelib = subprocess.run(
        [venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the dependencies only: .pth files of that directory (this run's editable BVP) are
    # not processed when it is added this way
    (tmp_path / "venv" / purelib / "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            venv / "bin/python",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        check=True,
    )
    url = make_url(app.config["DATABASE_URL"]).set(database="bvp_wheel_test")
    _recreate(url)
    elsewhere = tmp_path / "elsewhere"  # no checkout, no .flaskenv, no development_config
    elsewhere.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "BVP_ENV": "production",
        "BVP_DATABASE_URL": url.render_as_string(hide_password=False),
        "BVP_REDIS_URL": app.config["REDIS_URL"],
        "BVP_SECRET_KEY": "a-production-secret-for-this-test-only",
        "HOME": str(tmp_path),
    }
    try:
        where = _run(["python", "-c", "import bvp; print(bvp.__file__)"], elsewhere, env)
        assert where.startswith(str(venv)), where  # the wheel's BVP, not the checkout's
        upgraded = _run(
            ["python", "-m", "flask", "--app", "bvp.app:create_app", "db", "upgrade"],
            elsewhere,
            env,
        )
        assert f"-> {NEWEST_MIGRATION}" in upgraded
        current = _run(["bvp", "db", "current"], elsewhere, env)
        assert current.split()[0] == NEWEST_MIGRATION and "(head)" in current
        with psycopg2.connect(psycopg2_dsn(url.render_as_string(hide_password=False))) as db:
            with db.cursor() as cursor:
                cursor.execute("SELECT to_regclass('timed_belief'), to_regclass('sensor')")
                assert cursor.fetchone() == ("timed_belief", "sensor")
    finally:
        _drop(url)


def _run(command: list[str], cwd, env: dict) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _recreate(url) -> None:
    _drop(url)
    with _Server(url) as cursor:
        cursor.execute(f'CREATE DATABASE "{url.database}"')


def _drop(url) -> None:
    with _Server(url) as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


class _Server:
    def __init__(self, url):
        self.dsn = psycopg2_dsn(url.set(database="postgres").render_as_string(hide_password=False))

    def __enter__(self):
        self.connection = psycopg2.connect(self.dsn)
        self.connection.autocommit = True
        return self.connection.cursor()

    def __exit__(self, *exc):
        self.connection.close()
