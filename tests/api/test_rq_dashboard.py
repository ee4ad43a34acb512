"""rq-dashboard at /rq: admins in, everyone else out."""

import base64

from tests.api.conftest import PASSWORD
from tests.conftest import job_settings


def basic(email, password=PASSWORD):
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def test_admins_see_the_queues_and_no_one_else(app, world, redis):
    from datetime import UTC, datetime, timedelta

    from bvp.forecasting.enqueue import create_forecasting_jobs

    create_forecasting_jobs(
        redis, job_settings(), [1], datetime(2024, 6, 1, tzinfo=UTC), [timedelta(days=1)]
    )
    client = app.test_client()
    anonymous = client.get("/rq/")
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    browser = client.get("/rq/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 302
    assert browser.headers["Location"] == "/dashboard/login?next=/rq/"
    assert client.get("/rq/", headers=basic("account-admin@north.example")).status_code == 403
    assert client.get("/rq/", headers=basic("admin@north.example", "wrong")).status_code == 401
    page = client.get("/rq/", headers=basic("admin@north.example"))
    assert page.status_code == 200 and b"<title>RQ dashboard</title>" in page.data
    queues = client.get("/rq/0/data/queues.json", headers=basic("admin@north.example"))
    assert queues.status_code == 200  # the page lists the queues from here
    counts = {queue["name"]: queue["count"] for queue in queues.get_json()["queues"]}
    assert counts["forecasting"] == 1
    assert (
        client.get("/rq/0/data/queues.json", headers=basic("user@north.example")).status_code == 403
    )


def test_an_admin_token_works_too(as_, redis):
    assert as_("admin").get("/rq/0/data/queues.json").status_code == 200
    assert as_("viewer").get("/rq/0/data/queues.json").status_code == 403
