"""The application factory and the health check."""

from bvp.api.health import _head_revision


def test_healthcheck_reports_every_part(app, db, redis):
    for url in ("/healthcheck", "/api/v1/health"):
        response = app.test_client().get(url)
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "healthy" and body["failed"] == []
        assert body["database"]["revision"] == body["database"]["head"]
        assert body["redis"]["queues"] == {"forecasting": 0, "model-selection": 0, "scheduling": 0}
        assert body["redis"]["workers"] == 0
        assert body["warnings"] == [] and body["redis"]["unserved"] == []


def test_healthcheck_warns_of_jobs_that_no_worker_serves(app, db, redis):
    from rq import Worker

    from bvp.queues import get_queue

    get_queue(redis, "forecasting").enqueue("time.sleep", 0)
    body = app.test_client().get("/healthcheck").get_json()
    assert body["status"] == "healthy"  # data is still stored; the jobs wait
    assert body["redis"]["unserved"] == ["forecasting"]
    assert body["warnings"] == [
        "1 jobs wait on the forecasting queue and no worker serves it: start one with "
        "`flask run_forecasting_worker`"
    ]
    Worker(["forecasting"], connection=redis, name="health-test-worker").register_birth()
    assert app.test_client().get("/healthcheck").get_json()["warnings"] == []


def test_healthcheck_is_503_naming_redis_when_it_is_down(app, db):
    configured = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        response = app.test_client().get("/healthcheck")
    finally:
        app.config["REDIS_URL"] = configured
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["redis"]


def test_healthcheck_is_503_when_migrations_are_behind(app, db):
    from sqlalchemy import text

    head = _head_revision()
    db.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.commit()
    try:
        response = app.test_client().get("/healthcheck")
    finally:
        db.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.commit()
    assert response.status_code == 503
    assert "database migrations" in response.get_json()["failed"][0]


def test_unknown_route_is_404_json(app, db):
    response = app.test_client().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
