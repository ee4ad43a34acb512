"""Which model forecasts a sensor, through the API; and choosing it again on request."""

import numpy as np
import pandas as pd

from tests.conftest import run_worker


def post_five_weeks(as_, sensor_id: int) -> None:
    """Five weeks of a noisy daily profile, posted as a meter gateway would."""
    index = pd.date_range("2024-04-27T22:00Z", "2024-06-01T22:00Z", freq="15min", inclusive="left")
    profile = np.sin(np.pi * np.clip(index.hour.to_numpy() - 4, 0, 12) / 12) * 5
    noise = np.random.default_rng(2).normal(0, 0.3, len(index))
    body = {
        "start": index[0].isoformat(),
        "duration": "P35D",
        "values": (profile + noise).round(3).tolist(),
        "unit": "kW",
    }
    assert as_("user").post(f"/api/v1/sensors/{sensor_id}/data", json=body).status_code == 200


def test_a_model_is_chosen_on_request_and_shown_with_its_scores(as_, db, world, redis):
    sensor = world["north"]["sensor"]
    before = as_("viewer").get(f"/api/v1/sensors/{sensor}/model").get_json()
    assert before["model"] == "naive-1d" and before["chosen"] is False
    post_five_weeks(as_, sensor)

    queued = as_("user").post(f"/api/v1/sensors/{sensor}/model/selection")
    assert queued.status_code == 202
    job = queued.get_json()
    assert job["id"] == f"select-model-s{sensor}" and job["queue"] == "model-selection"
    again = as_("user").post(f"/api/v1/sensors/{sensor}/model/selection").get_json()
    assert again["id"] == job["id"]  # the same work is not queued twice

    run_worker("-m", "flask", "run_forecasting_worker", "--queue", "model-selection", "--burst")
    assert as_("viewer").get(f"/api/v1/jobs/{job['id']}").get_json()["status"] == "finished"
    chosen = as_("viewer").get(f"/api/v1/sensors/{sensor}/model").get_json()
    assert chosen["chosen"] is True and chosen["selected_at"].endswith("+00:00")
    assert chosen["model"] in chosen["scores"]
    assert chosen["mase"] == min(s["mase"] for s in chosen["scores"].values())
    assert 0.7 <= chosen["coverage"] <= 0.9


def test_viewers_may_not_ask_for_a_new_choice(as_, world, redis):
    sensor = world["north"]["sensor"]
    refused = as_("viewer").post(f"/api/v1/sensors/{sensor}/model/selection")
    assert refused.status_code == 403 and "choosing models" in refused.get_json()["message"]
