"""What an operator opens, with a fleet of 10,000 sensors: the dashboard's sensors page,
a sensor's page, the ingestion status and a sensor's job list.

On a database of its own (BVP_BENCH_DATABASE_URL, default `bvp_bench_pages`; Redis db
10, BVP_BENCH_REDIS_URL), built in bulk by SQL the first time (``--rebuild`` builds it
again):

- ``--sensors`` sensors (default 10,000) of one account, 100 per asset, each imported by
  one of 20 sources of an ingestion manifest (500 sensors each);
- per sensor, a week of quarter-hours up to its newest measurement and one day in each of
  the 12 months before (so 13 to 16 monthly partitions hold data), and the day-ahead forecast
  (p10, p50, p90) from its newest measurement on: about 2,100 beliefs a sensor. Most
  sensors are current; one in five stopped 1-90 days ago; one in fifty has no data;
- a week of 15-minute forecasting jobs per current sensor in ``job_run`` (what workers
  record), and in Redis what rq keeps of them: a day of finished job ids in the
  forecasting queue's finished registry (rq keeps a week), the timed sensor's jobs in
  full, and its next forecast waiting in the queue.

Then, served in-process by the Flask test client with production settings, signed in as
the fleet's user (a bearer token for the API), the median of ``--repeats`` requests
each (after one warm-up): the sensors page (first page of 100), a sensor's page, the
ingestion page (and ``source_statuses``, what ``flask ingest status`` prints), and
``GET /api/v1/sensors/<id>/jobs``. Target each < 300 ms.

Usage: python bench/fleet_pages.py [--sensors N] [--repeats R] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import redis
import yaml
from alembic import command
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import processes as servers  # bench/processes.py, beside this file
from forecast_origins import milliseconds

from bvp.app import alembic_config, fresh_database
from bvp.data.db import Session, init_engine
from bvp.data.models import Account, Asset, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.models.auth_tokens import issue_token
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.partitions import ensure_partitions
from bvp.data.passwords import hash_password

URL = os.environ.get(
    "BVP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bvp_bench_pages"
)
REDIS_URL = os.environ.get("BVP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SOURCES = 20
PER_ASSET = 100
EMAIL, PASSWORD = "pages@bvp.example", "bench-password"
MANIFEST = Path(tempfile.gettempdir()) / "bvp-bench-pages-manifest.yaml"
# The fleet's "now": the last whole quarter-hour, so that ages and staleness are real.
NOW = pd.Timestamp.now(tz="UTC").floor("15min")
ENV = servers.production_env(URL, REDIS_URL, BVP_INGEST_MANIFEST=str(MANIFEST))


def build(sensors: int) -> None:
    """The fleet, its beliefs and its job runs, in bulk (minutes, not hours)."""
    fresh_database(URL)
    session = Session()
    roles = {r.name: r for r in ensure_roles(session)}
    account = Account(name="pages")
    user = User(
        email=EMAIL,
        password_hash=hash_password(PASSWORD),
        account=account,
        roles=[roles["user"]],
    )
    session.add_all([account, user])
    session.flush()
    sources = [
        get_or_create_source(session, f"feed_{n:02}", "importer", "ingestion").id
        for n in range(SOURCES)
    ]
    forecaster = get_or_create_source(session, "lightgbm", "forecaster", "lightgbm", "1").id
    assets = [
        Asset(name=f"site {n}", asset_type="building", account=account)
        for n in range(-(-sensors // PER_ASSET))
    ]
    session.add_all(assets)
    session.flush()
    session.execute(
        text(
            "INSERT INTO sensor (name, unit, event_resolution, timezone, asset_id, attributes) "
            "SELECT 'meter ' || n, 'kW', interval '15 minutes', 'Europe/Amsterdam', "
            "(:assets)[n / :per + 1], jsonb_build_object('ingested_as', 'meter_' || n) "
            "FROM generate_series(0, :n - 1) n ORDER BY n"
        ),
        {"assets": [a.id for a in assets], "per": PER_ASSET, "n": sensors},
    )
    months = pd.date_range(NOW - pd.DateOffset(months=17), NOW + pd.Timedelta(days=2), freq="D")
    ensure_partitions(session, months.to_numpy())
    # Per sensor: its importer, and where its measurements end (NULL: no data at all).
    session.execute(
        text(
            "CREATE UNLOGGED TABLE fleet AS SELECT s.id AS sensor_id, "
            "(:sources)[(row_number() OVER (ORDER BY s.id) - 1) % :k + 1] AS source_id, "
            "CASE WHEN s.id % 50 = 7 THEN NULL "
            "     WHEN s.id % 5 = 3 THEN CAST(:now AS timestamptz) "
            "          - (1 + s.id % 90) * interval '1 day' "
            "     ELSE CAST(:now AS timestamptz) END AS ends "
            "FROM sensor s"
        ),
        {"sources": sources, "k": SOURCES, "now": NOW.to_pydatetime()},
    )
    session.commit()
    started = time.perf_counter()
    ids = list(session.scalars(text("SELECT sensor_id FROM fleet ORDER BY sensor_id")))
    for chunk in range(0, len(ids), 500):
        bounds = {"low": ids[chunk], "high": ids[min(chunk + 500, len(ids)) - 1]}
        session.execute(text(_BELIEFS), {**bounds, "forecaster": forecaster})
        session.commit()
        print(f"  beliefs of {min(chunk + 500, len(ids)):,} sensors", end="\r", flush=True)
    session.execute(
        text(
            "INSERT INTO newest_measurement (sensor_id, event_start) "
            "SELECT sensor_id, ends - interval '15 minutes' FROM fleet WHERE ends IS NOT NULL"
        )
    )
    session.execute(text(_JOB_RUNS), {"now": NOW.to_pydatetime()})
    session.execute(text("DROP TABLE fleet"))
    session.commit()
    load = time.perf_counter() - started
    with session.get_bind().connect() as connection:  # as autovacuum would have by now
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    beliefs = session.scalar(text("SELECT count(*) FROM timed_belief"))
    runs = session.scalar(text("SELECT count(*) FROM job_run"))
    print(f"built in {load:.0f} s: {beliefs:,} beliefs, {runs:,} job runs" + " " * 20)
    session.close()


_BELIEFS = """
INSERT INTO timed_belief
    (sensor_id, event_start, belief_time, source_id, cumulative_probability, event_value)
SELECT sensor_id, event_start, belief_time, source_id, p, value FROM (
    SELECT f.sensor_id, e AS event_start, e + interval '15 minutes' AS belief_time,
        f.source_id, 0.5 AS p, 50 + 40 * sin(extract(epoch FROM e) / 13751) AS value
    FROM fleet f, generate_series(f.ends - interval '7 days', f.ends - interval '15 minutes',
        interval '15 minutes') e
    WHERE f.sensor_id BETWEEN :low AND :high AND f.ends IS NOT NULL
    UNION ALL
    SELECT f.sensor_id, e, e + interval '15 minutes', f.source_id, 0.5, 30
    FROM fleet f, generate_series(1, 12) m, generate_series(
        date_trunc('month', f.ends) - m * interval '1 month'
            + (f.sensor_id % 27) * interval '1 day',
        date_trunc('month', f.ends) - m * interval '1 month'
            + (f.sensor_id % 27 + 1) * interval '1 day' - interval '15 minutes',
        interval '15 minutes') e
    WHERE f.sensor_id BETWEEN :low AND :high AND f.ends IS NOT NULL
    UNION ALL
    SELECT f.sensor_id, e, f.ends, :forecaster, q, 45 + 10 * q
    FROM fleet f, unnest(ARRAY[0.1, 0.5, 0.9]) q, generate_series(f.ends,
        f.ends + interval '1 day' - interval '15 minutes', interval '15 minutes') e
    WHERE f.sensor_id BETWEEN :low AND :high AND f.ends IS NOT NULL
) b ORDER BY sensor_id, event_start, belief_time, source_id, p
"""

# A week of 15-minute day-ahead jobs per current sensor, as workers record them (1 in
# 200 failed), and a model choice and a training each.
_JOB_RUNS = """
INSERT INTO job_run (job_id, queue, status, sensor_id, enqueued_at, started_at, ended_at, error)
SELECT 'forecast-s' || f.sensor_id || '-h86400-o' || to_char(o, 'YYYYMMDD"T"HH24MISS"Z"'),
    'forecasting', CASE WHEN (f.sensor_id + k) % 200 = 0 THEN 'failed' ELSE 'finished' END,
    f.sensor_id, o + interval '2 seconds', o + interval '3 seconds', o + interval '4 seconds',
    CASE WHEN (f.sensor_id + k) % 200 = 0 THEN 'ValueError: no history' END
FROM fleet f, generate_series(0, 671) k, LATERAL (
    SELECT CAST(:now AS timestamptz) - k * interval '15 minutes' AS o) origin
WHERE f.ends = CAST(:now AS timestamptz)
UNION ALL
SELECT job_id, 'model-selection', 'finished', f.sensor_id, at, at, at + interval '20 seconds',
    NULL
FROM fleet f, LATERAL (VALUES
    ('select-model-s' || f.sensor_id, CAST(:now AS timestamptz) - interval '3 days'),
    ('train-model-s' || f.sensor_id || '-P1D', CAST(:now AS timestamptz) - interval '5 hours')
) j(job_id, at)
WHERE f.ends IS NOT NULL
"""


def write_manifest(sensors: int) -> None:
    """20 sources, each importing 500 of the fleet's sensors from one CSV's columns."""
    keys = [f"meter_{n}" for n in range(sensors)]
    manifest = {
        "sensors": {
            key: {
                "account": "pages",
                "asset": f"site {n // PER_ASSET}",
                "asset_type": "building",
                "name": f"meter {n}",
                "unit": "kW",
                "resolution": "PT15M",
                "timezone": "Europe/Amsterdam",
            }
            for n, key in enumerate(keys)
        },
        "sources": [
            {
                "id": f"feed_{n:02}",
                "title": f"Meter feed {n}",
                "description": "Quarter-hourly meter readings, one CSV a day.",
                "tags": ["meters", "core_data"],  # no fetcher: files come by hand
                "importers": [
                    {
                        "name": "csv",
                        "files": r"\.csv$",
                        "options": {
                            "timestamp_column": "start",
                            "columns": {f"c{k}": key for k, key in enumerate(keys[n::SOURCES])},
                        },
                    }
                ],
                "publication_schedule": "daily",
                "publication_lag": "1 hour",
            }
            for n in range(SOURCES)
        ],
    }
    MANIFEST.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


def fill_redis(app, sensor_id: int) -> None:
    """What rq keeps: a day of the fleet's finished forecast ids (rq keeps a week), the
    timed sensor's day of jobs in full, and its next forecast waiting."""
    from rq.job import Job, JobStatus

    from bvp.config import app_settings
    from bvp.forecasting.enqueue import create_forecasting_jobs
    from bvp.forecasting.job_ids import forecast_job_id
    from bvp.forecasting.pipeline import forecast_origins
    from bvp.queues import get_queue

    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    queue = get_queue(connection, "forecasting")
    registry = queue.finished_job_registry
    sensors = [int(i) for i in Session().scalars(text("SELECT id FROM sensor ORDER BY id"))]
    expires = NOW.timestamp() + 7 * 24 * 3600
    for step in range(96):
        origin = (NOW - step * pd.Timedelta(minutes=15)).to_pydatetime()
        with connection.pipeline(transaction=False) as pipe:
            pipe.zadd(
                registry.key,
                {forecast_job_id(s, timedelta(days=1), origin): expires for s in sensors},
            )
            pipe.execute()
    for step in range(1, 97):
        origin = (NOW - step * pd.Timedelta(minutes=15)).to_pydatetime()
        job = Job.create(
            "bvp.forecasting.jobs.run_forecasting_job",
            args=(sensor_id, 86400, origin.isoformat(), None),
            id=forecast_job_id(sensor_id, timedelta(days=1), origin),
            connection=connection,
            origin="forecasting",
            description=f"forecast sensor {sensor_id} P1D ahead",
        )
        job.enqueued_at = job.started_at = origin + timedelta(seconds=2)
        job.ended_at = origin + timedelta(seconds=4)
        job.set_status(JobStatus.FINISHED)
        job.save()
    with app.app_context():  # from its newest measurement on, as a POST would queue it
        origins = forecast_origins(Session(), [sensor_id])
        create_forecasting_jobs(connection, app_settings().jobs, [sensor_id], origins[sensor_id])


def signed_in_client(app):
    client = app.test_client()
    https = {"base_url": "https://localhost"}  # production's session cookie is Secure
    login = client.get("/dashboard/login", **https).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    signed_in = client.post(
        "/dashboard/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf},
        headers={"Referer": "https://localhost/dashboard/login"},  # checked over HTTPS
        **https,
    )
    assert signed_in.status_code == 302, signed_in.text
    return client, https


def median_ms(run, repeats: int) -> float:
    run()  # warm: a connection's first query reads the partitions' catalog
    return milliseconds(run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {URL}")
    init_engine(URL)
    try:
        present = Session().scalar(  # a build that finished made the job runs last
            text("SELECT count(*) FROM sensor WHERE EXISTS (SELECT FROM job_run)")
        )
    except Exception:  # no database, or no schema yet
        present = None
    if args.rebuild or present != args.sensors:
        build(args.sensors)
    else:  # the fleet of an earlier run, at this code's schema
        with Session().get_bind().begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    write_manifest(args.sensors)

    from bvp.app import create_app

    with patch.dict(os.environ, ENV):
        app = create_app()
    session = Session()
    sensor_id = session.scalar(
        text("SELECT sensor_id FROM newest_measurement ORDER BY event_start DESC, sensor_id")
    )
    user = session.scalar(text("SELECT id FROM public.user WHERE email = :e"), {"e": EMAIL})
    token, _ = issue_token(session, session.get(User, user), timedelta(hours=1))
    session.commit()
    fill_redis(app, sensor_id)
    client, https = signed_in_client(app)
    bearer = {"Authorization": f"Bearer {token}"}

    def get(url: str, shows: str, **kwargs):
        def run():
            response = client.get(url, **https, **kwargs)
            assert response.status_code == 200, (url, response.status_code)
            assert shows in response.text, (url, shows)
            return response

        return run

    from bvp.ingestion.manifest import load_manifest
    from bvp.ingestion.status import source_statuses

    def statuses():
        with Session() as own:
            source_statuses(own, load_manifest(MANIFEST))

    beliefs = session.scalar(text("SELECT count(*) FROM timed_belief"))
    partitions = session.scalar(
        text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'timed_belief'::regclass")
    )
    runs = session.scalar(text("SELECT count(*) FROM job_run"))
    name = session.scalar(text("SELECT name FROM sensor WHERE id = :id"), {"id": sensor_id})
    listed = client.get(f"/api/v1/sensors/{sensor_id}/jobs", headers=bearer, **https)
    assert listed.status_code == 200, listed.text
    listed = listed.get_json()
    print(
        f"# {args.sensors:,} sensors, {beliefs:,} beliefs in {partitions} partitions, "
        f"{runs:,} job runs; median of {args.repeats} after one warm-up\n"
        f"# sensor {sensor_id}'s job list: {len(listed)} jobs, "
        f"{sum(j['status'] == 'queued' for j in listed)} queued"
    )
    last_page = -(-args.sensors // 100)
    for what, run in (
        ("sensors page (first 100 of the fleet)", get("/dashboard/sensors", "meter 99")),
        (
            "sensors page (the last page)",
            get(f"/dashboard/sensors?page={last_page}", f"meter {args.sensors - 1}"),
        ),
        ("a sensor's page", get(f"/dashboard/sensors/{sensor_id}", name)),
        (
            "ingestion page (20 sources, every sensor)",
            get("/dashboard/ingestion", "<code>feed_19</code>"),
        ),
        ("source_statuses (flask ingest status)", statuses),
        (
            "a sensor's job list (API)",
            get(f"/api/v1/sensors/{sensor_id}/jobs", "forecast-s", headers=bearer),
        ),
    ):
        print(f"{what:44} {median_ms(run, args.repeats):8.1f} ms", flush=True)
    MANIFEST.touch()  # changed: read again, as after an edit
    started = time.perf_counter()
    load_manifest(MANIFEST)
    first_read = (time.perf_counter() - started) * 1000
    print(f"{'the manifest, read again after a change':44} {first_read:8.1f} ms (once)")


if __name__ == "__main__":
    main()
