"""A sensor page's actions: upload a CSV file, "Forecast now", "Choose model", and the
progress of the jobs they queued. Who sees which, and what each stores or queues."""

import io

import pytest
from sqlalchemy import func, select

from bvp.data.models import TimedBelief
from tests.ui.conftest import csrf_token

GOOD = "event_start,value [W]\n2016-10-13T05:00:00-06:00,1500\n2016-10-13T05:15:00-06:00,\n"
BAD = "event_start,value [W]\n2016-10-13T05:00:00-06:00,1500\n2016-10-13T05:15:00-06:00,lots\n"


def page(client, world, account="north", **query):
    return client.get(f"/dashboard/sensors/{world.sensors[account]}", query_string=query)


def beliefs(database) -> int:
    with database() as db:
        return db.scalar(select(func.count()).select_from(TimedBelief))


def upload(client, world, text: str, **fields):
    token = csrf_token(page(client, world).text)
    return client.post(
        f"/dashboard/sensors/{world.sensors['north']}/upload",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "readings.csv"), **fields},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


@pytest.mark.parametrize(
    ("role", "upload_form", "buttons"),
    [("viewer", False, False), ("user", True, False), ("account-admin", True, True)],
)
def test_each_role_sees_what_it_may_do(signed_in, world, role, upload_form, buttons):
    html = page(signed_in(role), world).text
    assert ('enctype="multipart/form-data"' in html) is upload_form
    assert (">Forecast now</button>" in html) is buttons
    assert (">Choose model</button>" in html) is buttons


def test_an_uploaded_file_is_stored_and_its_forecasts_followed(signed_in, world, database, redis):
    before = beliefs(database)
    done = upload(signed_in("user"), world, GOOD)
    assert done.status_code == 200
    assert "readings.csv: 2 lines, 1 values new" in done.text
    assert "1 without a value" in done.text and "forecasting jobs queued" in done.text
    assert beliefs(database) == before + 1
    assert 'id="jobs"' in done.text and "forecast-s" in done.text  # progress followed


def test_the_same_file_again_stores_nothing_and_queues_no_forecasts(
    signed_in, world, database, redis
):
    """The dashboard stores as the API does (one service): the user's own data source, so
    a second upload finds every value unchanged, and nothing changed owes no forecast."""
    user = signed_in("user")
    upload(user, world, GOOD)
    redis.flushdb()
    before = beliefs(database)
    again = upload(user, world, GOOD)
    assert "readings.csv: 2 lines, 0 values new, 0 changed, 1 unchanged" in again.text
    assert "forecasting jobs queued" not in again.text and 'id="jobs"' not in again.text
    assert beliefs(database) == before
    assert redis.llen("rq:queue:forecasting") == 0


def test_a_bad_file_stores_nothing_and_says_which_line(signed_in, world, database, redis):
    before = beliefs(database)
    done = upload(signed_in("user"), world, BAD)
    assert "Nothing stored from readings.csv: line 3, column &#39;value [W]&#39;" in done.text
    assert "&#39;lots&#39; is not a number" in done.text
    assert beliefs(database) == before
    bad_zone = upload(signed_in("user"), world, GOOD, timezone="Mars/Olympus")
    assert "not an IANA time zone" in bad_zone.text
    assert beliefs(database) == before


def test_forecast_now_and_choose_model_queue_jobs_whose_progress_the_page_follows(
    signed_in, world, redis
):
    admin = signed_in("account-admin")
    sensor = world.sensors["north"]
    token = csrf_token(page(admin, world).text)
    forecast = admin.post(f"/dashboard/sensors/{sensor}/forecast", data={"csrf_token": token})
    assert forecast.status_code == 302
    assert f"job=forecast-s{sensor}-h86400-o20161013T110000Z" in forecast.headers["Location"]
    choose = admin.post(f"/dashboard/sensors/{sensor}/model-selection", data={"csrf_token": token})
    assert f"job=select-model-s{sensor}" in choose.headers["Location"]
    assert redis.llen("rq:queue:forecasting") == 1 and redis.llen("rq:queue:model-selection") == 1
    followed = admin.get(choose.headers["Location"])
    assert f"<code>select-model-s{sensor}</code>" in followed.text
    progress = admin.get(
        f"/dashboard/sensors/{sensor}/jobs.json",
        query_string={"job": [f"select-model-s{sensor}", "select-model-s999"]},
    ).get_json()
    assert progress == {"jobs": [{"id": f"select-model-s{sensor}", "status": "queued"}]}


def test_buttons_are_refused_without_the_role_or_the_form_token(signed_in, world, redis):
    sensor = world.sensors["north"]
    user = signed_in("user")
    token = csrf_token(page(user, world).text)
    refused = user.post(f"/dashboard/sensors/{sensor}/forecast", data={"csrf_token": token})
    assert refused.status_code == 403
    admin = signed_in("account-admin")
    assert admin.post(f"/dashboard/sensors/{sensor}/forecast").status_code == 400
    other = world.sensors["south"]
    token = csrf_token(page(admin, world).text)
    elsewhere = admin.post(f"/dashboard/sensors/{other}/forecast", data={"csrf_token": token})
    assert elsewhere.status_code == 404
    assert redis.llen("rq:queue:forecasting") == 0
