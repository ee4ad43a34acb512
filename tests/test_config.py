"""The layered configuration: env > .env > config file > defaults."""

import os

import pytest

from bvp.config import ConfigurationError, load_settings


@pytest.fixture
def layers(tmp_path):
    config_file = tmp_path / "config.py"
    config_file.write_text(
        'DATABASE_URL = "postgresql://file/db"\nLOG_LEVEL = "WARNING"\nJOB_RETRIES = 7\n'
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text("BVP_DATABASE_URL=postgresql://dotenv/db\nBVP_LOG_LEVEL=ERROR\n")
    return {"BVP_CONFIG_FILE": str(config_file)}, dotenv


def test_environment_variable_beats_dotenv_beats_config_file_beats_default(layers):
    environ, dotenv = layers
    environ["BVP_DATABASE_URL"] = "postgresql://env/db"
    settings = load_settings("development", environ=environ, dotenv_path=dotenv)
    assert settings["DATABASE_URL"] == "postgresql://env/db"  # environment
    assert settings["LOG_LEVEL"] == "ERROR"  # .env
    assert settings["JOB_RETRIES"] == 7  # config file
    assert settings["JOB_TIMEOUT_SECONDS"] == 600  # default
    assert settings.origins["DATABASE_URL"] == "environment variable BVP_DATABASE_URL"
    assert settings.origins["JOB_RETRIES"] == "config file"


def test_environment_strings_are_coerced_to_the_settings_type(tmp_path):
    environ = {"BVP_JOB_RETRIES": "5", "BVP_SQL_ECHO": "yes"}
    settings = load_settings("development", environ=environ, dotenv_path=tmp_path / "none")
    assert settings["JOB_RETRIES"] == 5
    assert settings["SQL_ECHO"] is True


def test_a_setting_of_the_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigurationError, match="BVP_JOB_RETRIES: 'many' is not a whole number"):
        load_settings(
            "development", environ={"BVP_JOB_RETRIES": "many"}, dotenv_path=tmp_path / "x"
        )


def test_production_refuses_to_start_naming_what_is_missing(tmp_path):
    with pytest.raises(ConfigurationError, match="BVP_SECRET_KEY and BVP_DATABASE_URL are"):
        load_settings("production", environ={}, dotenv_path=tmp_path / "x")
    with pytest.raises(ConfigurationError, match="BVP_SECRET_KEY is not set"):
        load_settings(
            "production",
            environ={"BVP_DATABASE_URL": "postgresql://db/x"},
            dotenv_path=tmp_path / "x",
        )
    settings = load_settings(
        "production",
        environ={"BVP_DATABASE_URL": "postgresql://db/x", "BVP_SECRET_KEY": "s3cret"},
        dotenv_path=tmp_path / "x",
    )
    assert settings.environment == "production"


def test_redis_from_host_port_password_and_db(tmp_path):
    empty_config = tmp_path / "empty.py"
    empty_config.write_text("")
    environ = {
        "BVP_CONFIG_FILE": str(empty_config),
        "BVP_DATABASE_URL": "postgresql://db/x",
        "BVP_REDIS_HOST": "cache.internal",
        "BVP_REDIS_PORT": "6380",
        "BVP_REDIS_PASSWORD": "p@ss/word",
        "BVP_REDIS_DB": "2",
    }
    settings = load_settings("development", environ=environ, dotenv_path=tmp_path / "x")
    assert settings["REDIS_URL"] == "redis://:p%40ss%2Fword@cache.internal:6380/2"


def test_redis_url_wins_over_parts(tmp_path):
    environ = {"BVP_REDIS_URL": "redis://r:6379/3", "BVP_REDIS_HOST": "ignored"}
    settings = load_settings("development", environ=environ, dotenv_path=tmp_path / "x")
    assert settings["REDIS_URL"] == "redis://r:6379/3"


def test_testing_never_uses_the_configured_database(tmp_path):
    environ = {
        "BVP_DATABASE_URL": "postgresql://prod/db",
        "BVP_TEST_DATABASE_URL": "postgresql://127.0.0.1/test_x",
    }
    settings = load_settings("testing", environ=environ, dotenv_path=tmp_path / "x")
    assert settings["DATABASE_URL"] == "postgresql://127.0.0.1/test_x"


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError, match="BVP_ENV='staging'"):
        load_settings(environ={"BVP_ENV": "staging"})


def test_workers_run_as_background_work_by_default_and_only_lower_their_priority(tmp_path):
    def niceness(environment: str, **environ: str) -> int:
        return load_settings(
            environment,
            environ={"BVP_DATABASE_URL": "postgresql://db/x", "BVP_SECRET_KEY": "s", **environ},
            dotenv_path=tmp_path / "x",
        )["WORKER_NICENESS"]

    assert niceness("production") == 10
    assert niceness("development") == 10
    assert niceness("testing") == 0  # test workers keep the test runner's priority
    assert niceness("production", BVP_WORKER_NICENESS="0") == 0
    assert niceness("production", BVP_WORKER_NICENESS="19") == 19
    for wrong in ("-5", "20", "low"):
        with pytest.raises(
            ConfigurationError, match=r"BVP_WORKER_NICENESS: .* from 0, as started, to 19"
        ):
            niceness("production", BVP_WORKER_NICENESS=wrong)


def test_model_threads_default_to_one_and_must_be_a_positive_whole_number(tmp_path):
    def threads(**environ):
        return load_settings(
            "production",
            environ={"BVP_DATABASE_URL": "postgresql://db/x", "BVP_SECRET_KEY": "s", **environ},
            dotenv_path=tmp_path / "x",
        )["MODEL_THREADS"]

    assert threads() == 1  # one worker per core, each model on one thread
    assert threads(BVP_MODEL_THREADS="2") == 2
    for wrong in ("0", "-1", "all"):
        with pytest.raises(ConfigurationError, match="BVP_MODEL_THREADS: "):
            threads(BVP_MODEL_THREADS=wrong)


def test_forecasting_jobs_fork_by_default_or_run_in_the_workers_process(tmp_path):
    def jobs(**environ):
        return load_settings(
            "production",
            environ={"BVP_DATABASE_URL": "postgresql://db/x", "BVP_SECRET_KEY": "s", **environ},
            dotenv_path=tmp_path / "x",
        )["WORKER_JOBS"]

    assert jobs() == "in-process"
    assert jobs(BVP_WORKER_JOBS="fork") == "fork"
    with pytest.raises(
        ConfigurationError,
        match="BVP_WORKER_JOBS: 'threads': input should be 'in-process' or 'fork'",
    ):
        jobs(BVP_WORKER_JOBS="threads")


BAD_SETTINGS = [
    ("BVP_FORECAST_HORIZONS", "banana", "'banana' is not an ISO 8601 duration"),
    ("BVP_FORECAST_HORIZONS", "PT0S", "'PT0S' must be longer than zero"),
    ("BVP_FORECAST_HORIZONS", " , ", "' , ' names no duration"),
    ("BVP_FORECAST_QUEUE", "fast", "'fast' is not one of forecasting, model-selection"),
    ("BVP_JOB_RETRIES", "-1", "-1: input should be greater than or equal to 0"),
    ("BVP_JOB_RETRIES", "many", "'many' is not a whole number"),
    ("BVP_JOB_TIMEOUT_SECONDS", "0", "0: input should be greater than or equal to 1"),
    ("BVP_MODEL_MAX_AGE_DAYS", "0", "0: input should be greater than or equal to 1"),
    ("BVP_WORKER_NICENESS", "20", "20: input should be less than or equal to 19"),
    ("BVP_JOB_HEARTBEAT_SECONDS", "0", "0: input should be greater than or equal to 1"),
    ("BVP_LOG_LEVEL", "LOUD", "'LOUD': input should be 'DEBUG', 'INFO'"),
    ("BVP_DB_POOL_SIZE", "0", "0: input should be greater than or equal to 1"),
    ("BVP_TOKEN_LIFETIME_SECONDS", "5", "5: input should be greater than or equal to 60"),
    ("BVP_RATE_LIMIT", "lots", "'lots' is not a rate limit"),
    ("BVP_LOGIN_RATE_LIMIT", "20 per fortnight", "'20 per fortnight' is not a rate limit"),
    ("BVP_DATE_ANCHOR", "2024-06-01T00:00", "a date anchor: 2024-06-01 00:00:00 has no UTC"),
    ("BVP_INGEST_HTTP_ATTEMPTS", "0", "0: input should be greater than or equal to 1"),
    ("BVP_DASHBOARD_STALE_AFTER", "6 hours", "'6 hours' is not an ISO 8601 duration"),
    ("BVP_FORECAST_BATCH_SIZE", "0", "0: input should be greater than or equal to 1"),
]


@pytest.mark.parametrize(("variable", "value", "said"), BAD_SETTINGS)
def test_a_bad_setting_stops_create_app_naming_it(variable, value, said, monkeypatch):
    """BVP_FORECAST_HORIZONS=banana was accepted, and made every data POST a 500."""
    from bvp.app import create_app

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as stopped:
        create_app("testing")
    assert str(stopped.value).startswith(f"{variable}: {said}")


@pytest.mark.parametrize(
    ("command", "variable", "value", "said"),
    [
        (["-m", "flask", "routes"], *BAD_SETTINGS[0]),
        (["-m", "flask", "jobs", "list"], *BAD_SETTINGS[4]),
        (["worker.py", "--burst"], *BAD_SETTINGS[0]),
        (["worker.py", "--burst"], *BAD_SETTINGS[8]),
    ],
)
def test_a_bad_setting_stops_the_commands_with_its_name_and_no_traceback(
    command, variable, value, said
):
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "BVP_ENV": "testing", variable: value}
    started = subprocess.run(
        [sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1
    assert started.stderr.strip().startswith(f"Error: {variable}: {said}"), started.stderr
    assert "Traceback" not in started.stderr
