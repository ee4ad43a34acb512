"""The real flexmeasures-client (0.9.x) against BVP's FlexMeasures v3 routes."""

import asyncio
import threading

import pytest
from flexmeasures_client import FlexMeasuresClient
from werkzeug.serving import make_server

from tests.api.conftest import PASSWORD
from tests.conftest import run_worker


@pytest.fixture
def server(app, world):
    """BVP served over real HTTP on 127.0.0.1 (a thread of this process)."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{http.server_port}"
    http.shutdown()


def run(server, coroutine_function):
    async def main():
        client = FlexMeasuresClient(
            host=server, email="user@north.example", password=PASSWORD, ssl=False
        )
        try:
            return await coroutine_function(client)
        finally:
            await client.close()

    return asyncio.run(main())


def test_versions_and_sensors(server, world):
    async def calls(client):
        return (
            await client.get_versions(),
            await client.get_sensors(parse_json_fields=True),
            await client.get_sensor(world["north"]["sensor"], parse_json_fields=True),
        )

    versions, sensors, sensor = run(server, calls)
    assert versions["server_supports_api_versions"] == ["v3_0"]
    assert {s["id"] for s in sensors} == {world["north"]["sensor"], world["north"]["energy"]}
    assert sensor["unit"] == "kW" and sensor["event_resolution"] == "PT15M"


def test_post_and_get_sensor_data(server, world, redis):
    sensor = world["north"]["sensor"]

    async def calls(client):
        await client.post_sensor_data(
            sensor,
            start="2024-06-01T00:00:00+02:00",
            duration="PT1H",
            values=[1.0, 2.0, 3.0, 4.0],
            unit="MW",
        )
        return await client.get_sensor_data(
            sensor,
            start="2024-06-01T00:00:00+02:00",
            duration="PT1H",
            unit="kW",
            resolution="PT15M",
        )

    data = run(server, calls)
    assert data["values"] == [1000.0, 2000.0, 3000.0, 4000.0]
    assert data["unit"] == "kW"


def test_bad_data_raises_in_the_client(server, world):
    async def calls(client):
        await client.post_sensor_data(
            world["north"]["sensor"],
            start="2024-06-01T00:00:00+02:00",
            duration="PT1H",
            values=[1.0, 2.0, 3.0, 4.0],
            unit="°C",
        )

    with pytest.raises(ValueError):
        run(server, calls)


def test_another_accounts_sensor_is_not_found(server, world):
    async def calls(client):
        await client.get_sensor(world["south"]["sensor"], parse_json_fields=True)

    with pytest.raises(ConnectionError, match="404"):
        run(server, calls)


def test_trigger_forecast_then_get_it_after_a_worker_ran(server, world, redis):
    sensor = world["north"]["sensor"]

    async def post_and_trigger(client):
        await client.post_sensor_data(
            sensor,
            start="2024-06-01T00:00:00+02:00",
            duration="P2D",
            values=[float(i % 96) for i in range(192)],
            unit="kW",
            prior="2024-06-03T00:00:00+02:00",
        )
        return await client.trigger_forecast(
            sensor, start="2024-06-03T00:00:00+02:00", duration="P1D"
        )

    job_id = run(server, post_and_trigger)
    run_worker()

    forecast = run(server, lambda client: client.get_forecast(sensor, job_id))
    assert forecast["values"] == [float(i) for i in range(96)]
    assert forecast["start"] == "2024-06-02T22:00:00+00:00" and forecast["duration"] == "P1D"


def test_trigger_refuses_off_grid_starts_and_too_long_horizons(app, world, redis):
    client = app.test_client()
    login = client.post(
        "/api/requestAuthToken", json={"email": "user@north.example", "password": PASSWORD}
    )
    raw = {"Authorization": login.get_json()["auth_token"]}  # no "Bearer": FlexMeasures style
    url = f"/api/v3_0/sensors/{world['north']['sensor']}/forecasts/trigger"
    off_grid = client.post(url, json={"start": "2024-06-03T00:07:00+02:00"}, headers=raw)
    assert off_grid.status_code == 422 and "start" in off_grid.get_json()["errors"]
    too_far = client.post(
        url, json={"start": "2024-06-03T00:00:00+02:00", "duration": "P30D"}, headers=raw
    )
    assert too_far.status_code == 422 and "duration" in too_far.get_json()["errors"]


def test_the_readmes_client_snippet_runs_as_a_script(server, world, capsys):
    """The README's flexmeasures-client example, run as a user would paste it into a
    script (only the host, the account and the sensor are this test's)."""
    import re

    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    snippet = next(
        block
        for block in re.findall(r"```python\n(.*?)```", readme, re.S)
        if "FlexMeasuresClient" in block
    )
    snippet = (
        snippet.replace("127.0.0.1:5000", server)
        .replace("admin@bvp.example", "user@north.example")
        .replace("bvp-demo-admin", PASSWORD)
        .replace("SENSOR = 1 ", f"SENSOR = {world['north']['sensor']} ")
    )
    exec(compile(snippet, "README.md", "exec"), {"__name__": "__main__"})
    assert "'values': [1.0, 2.0, 3.0, 4.0]" in capsys.readouterr().out
