"""A client posting the sample data's last day to BVP's API, as a meter gateway would.

Usage: python demo/post_latest_day.py BASE_URL EMAIL PASSWORD
Logs in, finds the sample sensors, POSTs the last day of each, prints the result and
the ids of the forecasting jobs the API enqueued.
"""

from __future__ import annotations

import sys

import httpx
import pandas as pd

from bvp.data.sample_data import SERIES, load_sample_series


def main(base_url: str, email: str, password: str) -> int:
    client = httpx.Client(base_url=base_url, timeout=30)
    login = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    if login.status_code == 401:
        print(
            f"{email} exists with another password than the demo's: run the demo with "
            "BVP_ADMIN_PASSWORD=<that password>, or drop the development database "
            "(`dropdb bvp_dev`) to start afresh.",
            file=sys.stderr,
        )
        return 1
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['token']}"
    sensors = {
        s["attributes"].get("sample_series"): s for s in client.get("/api/v1/sensors").json()
    }
    for series in SERIES:
        sensor = sensors[series.key]
        values = load_sample_series(series)
        last_day = values[
            values.index >= values.index[-1] - pd.Timedelta(days=1) + pd.Timedelta("15min")
        ]
        body = {
            "start": last_day.index[0].isoformat(),
            "duration": "P1D",
            "values": last_day.round(4).tolist(),
            "unit": sensor["unit"],
            "prior": (last_day.index[-1] + pd.Timedelta("15min")).isoformat(),
        }
        response = client.post(f"/api/v1/sensors/{sensor['id']}/data", json=body)
        if response.status_code != 200:
            print(f"{sensor['name']}: {response.status_code} {response.text}", file=sys.stderr)
            return 1
        result = response.json()
        print(
            f"POST /api/v1/sensors/{sensor['id']}/data ({sensor['name']}, {len(last_day)} values): "
            f"{result['created']} created, {result['unchanged']} unchanged, "
            f"jobs: {', '.join(result['forecasting_jobs']) or 'none (nothing new)'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
