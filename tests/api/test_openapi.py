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
        "/api/v1/sensors/{sensor_id}/stats": {"get"},
        "/api/v1/health": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    post_data = paths["/api/v1/sensors/{sensor_id}/data"]["post"]
    assert {"200", "404", "422"} <= set(post_data["responses"])
    error = document["components"]["schemas"]["Error"]
    assert {"status", "message", "errors"} <= set(error["properties"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/health"]["get"]["security"] == []


def test_every_status_a_route_gives_is_listed_with_its_body(app, db):
    """Found by fuzzing: 403/404/409 and the FlexMeasures routes' 200s were only covered
    by the catch-all "default" (so a client could not know them), and POST /clients
    said a body was required where none is needed."""
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    error = {"$ref": "#/components/schemas/Error"}
    get_sensor = paths["/api/v1/sensors/{sensor_id}"]["get"]["responses"]
    assert get_sensor["404"]["content"]["application/json"]["schema"] == error
    delete_sensor = paths["/api/v1/sensors/{sensor_id}"]["delete"]["responses"]
    assert {"204", "403", "404", "409", "422"} <= set(delete_sensor)
    assert {"201", "403", "409", "422"} <= set(paths["/api/v1/assets"]["post"]["responses"])
    fm_sensors = paths["/api/v3_0/sensors"]["get"]["responses"]
    assert fm_sensors["200"]["content"]["application/json"]["schema"]["type"] == "array"
    fm_forecast = paths["/api/v3_0/sensors/{sensor_id}/forecasts/{job_id}"]["get"]["responses"]
    assert {"200", "202", "404", "422"} <= set(fm_forecast)
    assert paths["/api/v1/clients"]["post"]["requestBody"].get("required") is not True
    duration = app.test_client().get("/api/v1/openapi.json").get_json()["components"]
    assert "pattern" in duration["schemas"]["Sensor"]["properties"]["event_resolution"]


def test_reads_document_their_csv_body_beside_the_json_one(app, db):
    """?format=csv answers text/csv; a client reading the document knows it may."""
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/sensors/{sensor_id}/data", "/api/v1/sensors/{sensor_id}/forecasts"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv"} <= set(content), path
