"""The OpenAPI document describes every route, its input and its errors."""

from openapi_spec_validator import validate


def test_openapi_document_is_valid_and_complete(app, db):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(document)
    paths = document["paths"]
    for path, methods in {
        "/api/v1/auth/token": {"post", "delete"},
        "/api/v1/assets": {"get", "post"},
        "/api/v1/assets/{asset_id}": {"get", "patch", "delete"},
        "/api/v1/sensors": {"get", "post"},
        "/api/v1/sensors/{sensor_id}": {"get", "patch", "delete"},
        "/api/v1/sensors/{sensor_id}/data": {"get", "post"},
        "/api/v1/sensors/{sensor_id}/forecasts": {"get"},
        "/api/v1/health": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    post_data = paths["/api/v1/sensors/{sensor_id}/data"]["post"]
    assert {"200", "404", "422"} <= set(post_data["responses"])
    error = document["components"]["schemas"]["Error"]
    assert {"status", "message", "errors"} <= set(error["properties"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/health"]["get"]["security"] == []
