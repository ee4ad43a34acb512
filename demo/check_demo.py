"""What a user does after `./tasks demo`, checked: CI runs it on the demo's own output.

Usage: python demo/check_demo.py DEMO_OUTPUT [--stop]

1. Every URL the demo printed answers: 200 once redirects (to sign-in) are followed;
   the API's with the printed login's token.
2. A value POSTed as the README's curl would has its forecast readable within 10 s,
   with nothing started by hand: the demo left a worker running.
3. With --stop: `./tasks demo --stop`, then no process of the demo is left (the API,
   workers and their companions, the cron scheduler, the embedded servers).

Exits 1 naming what failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

FORECAST_WITHIN_S = 10
URL = re.compile(r"http://127\.0\.0\.1:\d+[^\s'\"]*")
REPO = Path(__file__).resolve().parent.parent


def printed(output: str) -> tuple[list[str], str, str]:
    """The URLs to open (not those inside a curl command) and the printed login."""
    urls = []
    for line in output.split("Where to look:", 1)[-1].splitlines():
        if "curl" not in line and "-d '" not in line:
            urls += URL.findall(line)
    login = re.search(r"login\s+(\S+@\S+) / (\S+)", output)
    if not urls or login is None:
        raise SystemExit("the demo's output has no 'Where to look' URLs and login")
    return list(dict.fromkeys(urls)), login.group(1), login.group(2)


def check_urls(urls: list[str], token: str) -> list[str]:
    failures = []
    for url in urls:
        headers = {"Authorization": f"Bearer {token}"} if "/api/" in url else {}
        response = httpx.get(url, headers=headers, follow_redirects=True, timeout=30)
        hops = " -> ".join(str(r.url.path) for r in [*response.history, response])
        print(f"GET {url}: {response.status_code} ({hops})")
        if response.status_code != 200:
            failures.append(f"{url} answered {response.status_code}")
    return failures


def check_post_to_forecast(base: str, email: str, password: str) -> list[str]:
    client = httpx.Client(base_url=base, timeout=30)
    token = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    token.raise_for_status()
    client.headers["Authorization"] = f"Bearer {token.json()['token']}"
    sensor = client.get("/api/v1/sensors").json()[0]
    recent = client.get(
        f"/api/v1/sensors/{sensor['id']}/data",
        params={
            "start": "2016-10-01T00:00:00Z",
            "end": "2016-11-01T00:00:00Z",
        },  # the sample data's end
    ).json()
    values = pd.Series(recent["values"], dtype=float)
    step = pd.Timedelta(recent["resolution"])
    last = pd.Timestamp(recent["start"]) + step * int(values.last_valid_index())
    new_start = last + step
    body = {
        "start": new_start.isoformat(),
        "duration": recent["resolution"],
        "values": [float(values.dropna().iloc[-1]) + 0.125],
        "unit": recent["unit"],
    }
    posted = time.monotonic()
    result = client.post(f"/api/v1/sensors/{sensor['id']}/data", json=body)
    print(f"POST {sensor['name']} {new_start.isoformat()}: {result.status_code} {result.text}")
    if result.status_code != 200 or not result.json()["forecasting_jobs"]:
        return [f"the POST of a new value answered {result.status_code}: {result.text}"]
    origin = new_start + step
    while time.monotonic() - posted < FORECAST_WITHIN_S:
        forecasts = client.get(
            f"/api/v1/sensors/{sensor['id']}/forecasts",
            params={"start": origin.isoformat(), "end": (origin + step).isoformat()},
        ).json()
        made = [pd.Timestamp(t) for t in forecasts.get("belief_times") or [] if t]
        if made and made[0] >= origin:
            print(
                f"forecast from {origin.isoformat()} readable "
                f"{time.monotonic() - posted:.1f} s after the POST"
            )
            return []
        time.sleep(0.25)
    return [f"no forecast from {origin.isoformat()} within {FORECAST_WITHIN_S} s of the POST"]


def demo_processes() -> list[str]:
    """Processes started from this checkout (its venv, its .bvp/), not this one's
    ancestors (the shell that runs CI stands in the checkout too)."""
    ours, pid = set(), os.getpid()
    while pid > 1:
        ours.add(pid)
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:  # ended meanwhile, or not ours to look at
            continue
        if command and (str(REPO) in command or cwd == str(REPO) or cwd.startswith(f"{REPO}/")):
            found.append(f"{entry.name}: {command[:160]}")
    return found


def check_stop() -> list[str]:
    subprocess.run([str(REPO / "tasks"), "demo", "--stop"], check=True)
    time.sleep(1)
    left = demo_processes()
    for process in left:
        print(f"left after --stop: {process}")
    return [f"{len(left)} processes of the demo left after --stop"] if left else []


def main(argv: list[str]) -> int:
    output = Path(argv[0]).read_text()
    urls, email, password = printed(output)
    base = re.match(r"http://127\.0\.0\.1:\d+", urls[0]).group(0)
    token = httpx.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=30
    ).json()["token"]
    failures = check_urls(urls, token) + check_post_to_forecast(base, email, password)
    if "--stop" in argv[1:]:
        failures += check_stop()
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("the demo's URLs answer, its worker forecasts new data, and --stop stops it all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
