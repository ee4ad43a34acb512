"""Global models: one LightGBM over a group of similar sensors against BVP's per-sensor one.

A measured study for issue 17 ("global models where they pay off"); nothing here is in
BVP's production code. Two groups of real series that brightwind ships (MIT; see
bench/public_series.py), each of one kind, unit and resolution:

- mast: the brightwind demo mast, 10-minute wind speeds of six anemometers on one mast
  (80, 60 and 40 m, north and south booms). Spd80mN is forecast_quality's `wind-mast`, a
  development series. Spd80mS stops in September 2017, so its test days are earlier.
- merra2: MERRA-2 reanalysis hourly wind speed at 50 m at four grid points (NE, NW, SE,
  SW) from 2015-07-01. SW is BVP's held-out `wind-merra2`: it is scored, and its data
  train its siblings' group models, but nothing here was chosen by looking at its scores.

Protocol (bench/forecast_quality.py's): day-ahead forecasts from the last 28 midnights
(UTC) of each series; MASE on one fixed scale per series (``mase_scale``: the day-ago
naive MAE before the first test origin) over the points every compared method forecast,
cold-start methods included. Methods, per series:

- naive-1d, and BVP's per-sensor LightGBM (``MODELS["lightgbm"]`` through ``backtest``,
  refitted weekly on up to a year);
- group: one LightGBM over every sensor of the group, fitted weekly on each sensor's rows
  known at the origin (up to a year each). Each sensor's rows are BVP's own features
  (``boosted.design``: lags of 1, 2, 3, 7 and 14 days, minute of day, weekday, holiday)
  with its target and lags divided by its scale (the mean of its training rows, known at
  the origin); the scale is also a feature (the sensor-level feature: unlike a sensor
  index, it means something for a sensor the model never saw, so the same model serves
  the leave-one-out and cold-start cases). Forecasts are multiplied back by the scale,
  recomputed at each origin, and clipped at 0 as BVP's bounds do. BVP's PARAMETERS, L1,
  one thread. ``group+id`` adds a categorical sensor index besides the scale;
  ``group-sub`` is fitted on a random 1/n of each of the n sensors' rows (a fit as large
  as one sensor's, so the training cost per sensor is 1/n of BVP's);
- group-loo: the same model fitted without the target sensor ("a new sensor joins the
  fleet"): one fit per sensor, scored on that sensor.

Cold start, with N = 14 and 28 days of the sensor's own history: at every origin the
sensor is seen only through its last N days (the history before is cut off), so every
origin of the 28 is an N-day sensor. Compared: naive-1d (BVP's fallback; a day of
history is all it reads, so it is the full-history naive above), BVP's LightGBM fitted
weekly on the N days, the leave-one-out group model applied to the N days (no fit for
the new sensor: its N days give its lags and its scale), and a group model fitted weekly
on the siblings' full history plus the sensor's N days.

Training CPU (``time.process_time``, threadpoolctl at 1 thread, LightGBM n_jobs=1) is per
fit, features included; per sensor it is the fit over the sensors it was trained for.
Forecasts are cached in .bvp/bench-cache/global_models/; --fresh recomputes them.

The held-out sensor is scored only with --held-out (its data train its siblings' group
models either way).

Usage: python bench/global_models.py [--group mast|merra2 ...] [--held-out] [--fresh]
       [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pickle
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from public_series import _brightwind, daily_origins, regular

from bvp.data.scores import common_points, mase_scale, score_table
from bvp.forecasting.backtest import backtest
from bvp.forecasting.bounds import within_bounds
from bvp.forecasting.features import known_lags
from bvp.forecasting.models import MODELS, boosted

DAY = pd.Timedelta(days=1)
HORIZON = DAY
ORIGINS = 28
REFIT = pd.Timedelta(days=7)  # as BVP's backtest refits LightGBM
COLD_DAYS = (14, 28)
CONTEXT = {"timezone": "UTC", "lower_bound": 0.0}  # what BVP knows of a wind sensor
CACHE = Path(".bvp/bench-cache/global_models")
VERSION = "v1"
FITTED = ["group", "group+id", "group-sub", "group-loo", *[f"group {d}d" for d in COLD_DAYS]]
PAIRS = [  # test days on which the first has the lower MAE (of 28)
    ("group", "lightgbm"),
    ("group-sub", "lightgbm"),
    ("group-loo", "lightgbm"),
    ("group-loo 14d", "lightgbm 14d"),
    ("group-loo 28d", "lightgbm 28d"),
    ("group-loo 14d", "naive-1d"),
]


@dataclass(frozen=True)
class Sensor:
    name: str
    file: str
    column: str
    timestamp: str
    start: str | None = None
    held_out: bool = False


MAST = "demo_data.csv"
MERRA = "MERRA-2_{}_2000-01-01_2017-06-30.csv"
GROUPS = {
    "mast": (
        pd.Timedelta(minutes=10),
        [
            Sensor(f"mast-{c[3:]}", MAST, c, "Timestamp")
            for c in ("Spd80mN", "Spd80mS", "Spd60mN", "Spd60mS", "Spd40mN", "Spd40mS")
        ],
    ),
    "merra2": (
        pd.Timedelta(hours=1),
        [
            Sensor(f"merra2-{p}", MERRA.format(p), "WS50m_m/s", "DateTime", "2015-07-01", p == "SW")
            for p in ("NE", "NW", "SE", "SW")
        ],
    ),
}


def load(sensor: Sensor, resolution: pd.Timedelta) -> pd.Series:
    """As public_series loads its wind series: zeros (a stuck anemometer) dropped."""
    series = _brightwind(sensor.file, sensor.column, sensor.timestamp, sensor.start)()
    return regular(series, resolution)


# --- the group model ---------------------------------------------------------------------


def sensor_rows(y, origin, events, resolution, own_window=None):
    """One sensor's features for ``events`` as known at ``origin``, target-scaled: its
    lags over its scale (the mean of what it measured in its window before the origin),
    and that scale; None if it has no history there."""
    lag_days = known_lags(HORIZON)
    known = y[y.index + resolution <= origin]
    if own_window is not None:  # a cold-start sensor: only its last days exist
        known = known[known.index >= origin - own_window]
    known = known.dropna()
    window = known[known.index >= origin - boosted.TRAINING_WINDOW]
    if window.empty:
        return None, np.nan, known
    scale = float(window.mean())
    x = boosted.design(known, origin, events, resolution, lag_days, **CONTEXT)
    lags = [c for c in x.columns if c.startswith("y_lag_")]
    x[lags] = x[lags] / scale
    x["sensor_scale"] = scale
    return x, scale, known


@dataclass
class GroupModel:
    model: object
    columns: list[str]
    ids: dict[str, int]  # sensor index, for group+id
    fit_cpu: float
    sensors: int  # trained on
    rows: int

    def predict(self, name, y, origin, resolution, own_window=None) -> np.ndarray:
        events = pd.date_range(origin, origin + HORIZON, freq=resolution, inclusive="left")
        x, scale, _ = sensor_rows(y, origin, events, resolution, own_window)
        if x is None:
            return np.full(len(events), np.nan)
        if "sensor_id" in self.columns:
            x["sensor_id"] = pd.Categorical([self.ids[name]] * len(x), categories=self.codes())
        median = self.model.predict(x[self.columns]) * scale
        return within_bounds(pd.Series(median, index=events), resolution, **CONTEXT).to_numpy()

    def codes(self) -> list[int]:
        return sorted(self.ids.values())


def fit_group(
    members: dict[str, pd.Series],
    origin,
    resolution,
    with_id: bool = False,
    own_windows: dict | None = None,
    subsample: bool = False,
) -> GroupModel:
    """One LightGBM over the members' rows known at ``origin`` (up to a year each, or a
    member's ``own_windows`` days), BVP's parameters, one thread. ``subsample``: a random
    1/n of each of the n members' rows, so the fit has the rows of one sensor."""
    import lightgbm

    started = time.process_time()
    frames, targets = [], []
    ids = {name: i for i, name in enumerate(members)}
    rng = np.random.default_rng(0)
    for name, y in members.items():
        window = (own_windows or {}).get(name)
        known = y[y.index + resolution <= origin].dropna()
        if window is not None:
            known = known[known.index >= origin - window]
        train = known.index[known.index >= origin - boosted.TRAINING_WINDOW]
        if len(train) < boosted.MIN_TRAINING_ROWS:
            continue
        if subsample:
            train = train[np.sort(rng.permutation(len(train))[: len(train) // len(members)])]
        x, scale, _ = sensor_rows(y, origin, train, resolution, window)
        if with_id:
            x["sensor_id"] = ids[name]
        frames.append(x)
        targets.append(known.reindex(train).to_numpy() / scale)
    x = pd.concat(frames, ignore_index=True)
    if with_id:
        x["sensor_id"] = pd.Categorical(x["sensor_id"], categories=sorted(ids.values()))
    model = lightgbm.LGBMRegressor(n_jobs=1, **boosted.PARAMETERS)
    model.fit(x, np.concatenate(targets))
    cpu = time.process_time() - started
    return GroupModel(model, list(x.columns), ids, cpu, len(frames), len(x))


class Fits:
    """Group fits by (kind, who is left out, origin), each made once."""

    def __init__(self, members, resolution):
        self.members, self.resolution, self.fits = members, resolution, {}

    def get(self, kind, origin, leave_out=None, own_window=None) -> GroupModel:
        key = (kind, leave_out, own_window, origin)
        if key not in self.fits:
            members = {n: y for n, y in self.members.items() if n != leave_out or own_window}
            windows = {leave_out: own_window} if own_window else None
            self.fits[key] = fit_group(
                members,
                origin,
                self.resolution,
                with_id=kind == "group+id",
                own_windows=windows,
                subsample=kind == "group-sub",
            )
        return self.fits[key]


def refit_origins(origins: list) -> list:
    """The origin each origin's forecast was fitted at: the first, then weekly (BVP's)."""
    fitted_at, out = None, []
    for origin in origins:
        if fitted_at is None or origin - fitted_at >= REFIT:
            fitted_at = origin
        out.append(fitted_at)
    return out


def group_forecasts(name, y, origins, fits: Fits, kind, leave_out=None, own_window=None):
    frames = []
    for origin, fitted_at in zip(origins, refit_origins(origins), strict=True):
        model = fits.get(kind.split(" ")[0], fitted_at, leave_out, own_window)
        events = pd.date_range(origin, origin + HORIZON, freq=fits.resolution, inclusive="left")
        median = model.predict(name, y, origin, fits.resolution, own_window)
        frames.append(pd.DataFrame({"model": kind, "origin": origin, "event": events, 0.5: median}))
    return pd.concat(frames, ignore_index=True)


# --- BVP's per-sensor models -------------------------------------------------------------


def timed_lightgbm(cpu: list):
    """BVP's LightGBM, its fits timed."""
    model = MODELS["lightgbm"]

    def fit(*args, **kwargs):
        started = time.process_time()
        fitted = model.fit(*args, **kwargs)
        cpu.append(time.process_time() - started)
        return fitted

    return dataclasses.replace(model, fit=fit)


def per_sensor(y, origins, resolution, cpu: list) -> pd.DataFrame:
    models = {"naive-1d": MODELS["naive-1d"], "lightgbm": timed_lightgbm(cpu)}
    frame = backtest(y, origins, HORIZON, resolution, models, **CONTEXT).forecasts
    return frame[["model", "origin", "event", 0.5]]


def cold_lightgbm(y, origins, resolution, days: int, cpu: list) -> pd.DataFrame:
    """BVP's LightGBM on a sensor that has only its last ``days`` days at every origin,
    refitted weekly as BVP does."""
    model, window = timed_lightgbm(cpu), pd.Timedelta(days=days)
    frames, fitted = [], None
    for origin, fitted_at in zip(origins, refit_origins(origins), strict=True):
        short = y[y.index >= origin - window]
        if origin == fitted_at:
            fitted = model.fit(short, origin, resolution, HORIZON, **CONTEXT)
        events = pd.date_range(origin, origin + HORIZON, freq=resolution, inclusive="left")
        median = fitted(short, origin, events, **CONTEXT)[0.5]
        median = within_bounds(median, resolution, **CONTEXT)
        frames.append(
            pd.DataFrame(
                {"model": f"lightgbm {days}d", "origin": origin, "event": events, 0.5: median}
            )
        )
    return pd.concat(frames, ignore_index=True)


# --- the study ---------------------------------------------------------------------------


def run_group(group: str, fresh: bool, held_out: bool) -> list[dict]:
    resolution, sensors = GROUPS[group]
    members = {s.name: load(s, resolution) for s in sensors}
    data = [(n, len(y), float(np.nansum(y))) for n, y in members.items()]
    fits = Fits(members, resolution)
    rows = []
    for s in sensors:
        if s.held_out and not held_out:
            continue
        key = hashlib.sha256(f"{s.name}|{VERSION}|{data}".encode()).hexdigest()[:16]
        path = CACHE / f"{s.name}-{key}.pkl"
        if path.exists() and not fresh:
            rows.append(pickle.loads(path.read_bytes()))
            continue
        started = time.process_time()
        y = members[s.name]
        origins = daily_origins(y, "UTC", ORIGINS)
        lgbm_cpu, cold_cpu = [], {d: [] for d in COLD_DAYS}
        frames = [per_sensor(y, origins, resolution, lgbm_cpu)]
        frames.append(group_forecasts(s.name, y, origins, fits, "group"))
        frames.append(group_forecasts(s.name, y, origins, fits, "group+id"))
        frames.append(group_forecasts(s.name, y, origins, fits, "group-sub"))
        frames.append(group_forecasts(s.name, y, origins, fits, "group-loo", leave_out=s.name))
        for days in COLD_DAYS:
            window = pd.Timedelta(days=days)
            frames.append(cold_lightgbm(y, origins, resolution, days, cold_cpu[days]))
            frames.append(_loo_on_short(s.name, y, origins, fits, window, days))
            frames.append(
                group_forecasts(
                    s.name, y, origins, fits, f"group {days}d", s.name, own_window=window
                )
            )
        forecasts = pd.concat(frames, ignore_index=True)
        forecasts["actual"] = y.reindex(pd.DatetimeIndex(forecasts["event"])).to_numpy()
        table = score_table(forecasts, mase_scale(y, origins[0], resolution))
        daily = common_points(forecasts).assign(error=lambda f: (f[0.5] - f["actual"]).abs())
        daily = daily.groupby(["model", "origin"])["error"].mean().unstack("model")
        used = {kind: [fits.fits[k] for k in _keys(fits, kind, s.name, origins)] for kind in FITTED}
        rows.append(
            {
                "group": group,
                "series": s.name,
                "held_out": s.held_out,
                "test_days": f"{origins[0]:%Y-%m-%d} to {origins[-1]:%Y-%m-%d}",
                "points": int(table["points"].iloc[0]),
                "mase": {m: round(float(table.loc[m, "mase"]), 3) for m in table.index},
                "lightgbm_fit_cpu_s": round(float(np.mean(lgbm_cpu)), 2),
                "lightgbm_cold_fit_cpu_s": {
                    d: round(float(np.mean(c)), 3) for d, c in cold_cpu.items()
                },
                "group_fits": {
                    kind: {
                        "fits": len(models),
                        "cpu_s_per_fit": round(float(np.mean([m.fit_cpu for m in models])), 2),
                        "sensors": int(np.mean([m.sensors for m in models])),
                        "rows": int(np.mean([m.rows for m in models])),
                    }
                    for kind, models in used.items()
                },
                "days_won": {f"{a} < {b}": int((daily[a] < daily[b]).sum()) for a, b in PAIRS},
                "cpu_s": round(time.process_time() - started, 1),
            }
        )
        print("  " + json.dumps(rows[-1]), flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(rows[-1]))
    return rows


def _loo_on_short(name, y, origins, fits: Fits, window, days) -> pd.DataFrame:
    """The leave-one-out group model (no fit for this sensor) reading only its last days."""
    frames = []
    for origin, fitted_at in zip(origins, refit_origins(origins), strict=True):
        model = fits.get("group-loo", fitted_at, name)
        events = pd.date_range(origin, origin + HORIZON, freq=fits.resolution, inclusive="left")
        median = model.predict(name, y, origin, fits.resolution, window)
        frames.append(
            pd.DataFrame(
                {"model": f"group-loo {days}d", "origin": origin, "event": events, 0.5: median}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _keys(fits: Fits, kind: str, name: str, origins: list) -> list:
    at = sorted(set(refit_origins(origins)))
    if kind in ("group", "group+id", "group-sub"):
        return [(kind, None, None, o) for o in at]
    if kind == "group-loo":
        return [(kind, name, None, o) for o in at]
    days = pd.Timedelta(days=int(kind.split(" ")[1][:-1]))
    return [("group", name, days, o) for o in at]


KINDS = ["naive-1d", "lightgbm", "group", "group+id", "group-sub", "group-loo"]
COLD = [f"{m} {d}d" for d in COLD_DAYS for m in ("lightgbm", "group-loo", "group")]


def print_tables(rows: list[dict]) -> None:
    print("\nMASE, full history (one fixed scale per series, common points)\n")
    print("| series | test days | " + " | ".join(KINDS) + " | group / lightgbm |")
    print("|---|---|" + "---:|" * (len(KINDS) + 1))
    for r in rows:
        m = r["mase"]
        name = r["series"] + (" (held out)" if r["held_out"] else "")
        cells = " | ".join(f"{m[k]:.3f}" for k in KINDS)
        print(f"| {name} | {r['test_days']} | {cells} | {m['group'] / m['lightgbm']:.3f} |")
    print("\nMASE, cold start: N days of the sensor's own history at every origin\n")
    print("| series | naive-1d | " + " | ".join(COLD) + " |")
    print("|---|" + "---:|" * (len(COLD) + 1))
    for r in rows:
        m = r["mase"]
        name = r["series"] + (" (held out)" if r["held_out"] else "")
        print(f"| {name} | {m['naive-1d']:.3f} | " + " | ".join(f"{m[k]:.3f}" for k in COLD) + " |")
    print("\nTest days (of 28) on which the first has the lower MAE\n")
    print("| series | " + " | ".join(f"{a} < {b}" for a, b in PAIRS) + " |")
    print("|---|" + "---:|" * len(PAIRS))
    for r in rows:
        print(f"| {r['series']} | " + " | ".join(str(v) for v in r["days_won"].values()) + " |")
    print("\nTraining CPU s per fit (mean over the fits the series used), and per sensor\n")
    print(
        "| series | lightgbm per fit | group per fit (sensors, rows) | group per sensor "
        "| group-sub per fit | group-loo per fit | lightgbm 14d / 28d per fit "
        "| group 14d / 28d per fit |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        g = r["group_fits"]
        cold = r["lightgbm_cold_fit_cpu_s"]
        print(
            f"| {r['series']} | {r['lightgbm_fit_cpu_s']:.2f} "
            f"| {g['group']['cpu_s_per_fit']:.2f} "
            f"({g['group']['sensors']}, {g['group']['rows']:,}) "
            f"| {g['group']['cpu_s_per_fit'] / g['group']['sensors']:.2f} "
            f"| {g['group-sub']['cpu_s_per_fit']:.2f} "
            f"| {g['group-loo']['cpu_s_per_fit']:.2f} "
            f"| {cold[14]:.2f} / {cold[28]:.2f} "
            f"| {g['group 14d']['cpu_s_per_fit']:.2f} / {g['group 28d']['cpu_s_per_fit']:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", nargs="*", choices=list(GROUPS), help="default: both")
    parser.add_argument("--fresh", action="store_true", help="recompute, ignoring the cache")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument(
        "--held-out", action="store_true", help="also score merra2-SW (wind-merra2)"
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"# {platform.node()}, {os.cpu_count()} cores, {pd.Timestamp.now('UTC'):%Y-%m-%d}")
    print(f"# day-ahead from {ORIGINS} midnights per series, one thread per fit")
    import lightgbm  # noqa: F401  (imported before any clock starts)

    rows, started = [], time.process_time()
    with threadpool_limits(1):
        for group in args.group or list(GROUPS):
            print(f"{group} ...", flush=True)
            rows.extend(run_group(group, args.fresh, args.held_out))
    print(f"# {time.process_time() - started:.0f} s CPU in all (cached groups cost nothing)")
    print_tables(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
