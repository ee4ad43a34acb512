"""The application factory and the health endpoint."""


def test_health_reports_database_and_redis(app, db, redis):
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_unknown_route_is_404(app, db):
    assert app.test_client().get("/api/v1/nothing-here").status_code == 404
