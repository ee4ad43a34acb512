"""Forecast quality on real public series: BVP's own pick against strong references.

The protocol, the same for every method and series:

- day-ahead forecasts from each of the last 28 local midnights of the series (the test
  days), each seeing only what was measured before its origin;
- MASE on one fixed scale per series (the day-ago naive MAE over the history before the
  first test origin), over the points every method forecast (``bvp.data.scores``);
- p10-p90 coverage: the share of actuals inside the band (target 75-85 %).

References, computed here on the same origins: seasonal naive a day and a week ago,
MSTL+AutoETS from statsforecast with its default settings (daily and weekly seasons, on
the 8 weeks before each origin), and LightGBM with its default settings on lags of 1 to
7 and 14 days, time of day and day of week (up to a year of history, refitted at every
origin).

BVP's pick is what BVP does for a sensor: it chooses its model by backtest on the 28
days *before* the test days (every candidate model, and the ensemble of the best), then
forecasts the test days with that model and the intervals calibrated on those 28 days.
Held-out series (see bench/public_series.py) were never looked at while tuning.

Reference forecasts are cached in .bvp/bench-cache/ (they take minutes); --fresh
recomputes them. Every fit runs on one thread.

Usage: python bench/forecast_quality.py [--series NAME ...] [--fresh] [--json FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from public_series import SERIES, PublicSeries, daily_origins, regular

from bvp.data.scores import mase_scale, score_table
from bvp.forecasting.backtest import backtest, choose
from bvp.forecasting.bounds import within_bounds
from bvp.forecasting.calibration import with_intervals
from bvp.forecasting.models import model_named

DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
ORIGINS = 28
CACHE = Path(".bvp/bench-cache/forecast_quality")
REFERENCES = ["naive-day", "naive-week", "mstl-autoets", "lightgbm-lags"]


def reference_forecasts(y: pd.Series, origins: list, s: PublicSeries) -> pd.DataFrame:
    """The references' forecasts from every origin, long (model, origin, event, 0.5)."""
    frames = []
    lgbm = _lightgbm_on_lags(y, s)
    for origin in origins:
        events = pd.date_range(origin, origin + DAY, freq=s.resolution, inclusive="left")
        known = y[y.index + s.resolution <= origin]
        medians = {
            "naive-day": known.reindex(events - DAY).to_numpy(),
            "naive-week": known.reindex(events - WEEK).to_numpy(),
            "mstl-autoets": _mstl_autoets(known, origin, events, s.resolution),
            "lightgbm-lags": lgbm(known, origin, events),
        }
        for name, median in medians.items():
            frames.append(
                pd.DataFrame({"model": name, "origin": origin, "event": events, 0.5: median})
            )
    return pd.concat(frames, ignore_index=True)


def _mstl_autoets(known, origin, events, resolution) -> np.ndarray:
    from statsforecast.models import MSTL, AutoETS

    grid = pd.date_range(origin - 8 * WEEK, origin, freq=resolution, inclusive="left")
    values = known.reindex(grid)
    values = values[values.first_valid_index() :].interpolate(limit_direction="both")
    seasons = [int(DAY / resolution), int(WEEK / resolution)]
    model = MSTL(season_length=seasons, trend_forecaster=AutoETS(model="ZZN"))
    ahead = model.fit(values.to_numpy()).predict(len(events))["mean"]
    return np.asarray(ahead)


def _lightgbm_on_lags(y: pd.Series, s: PublicSeries):
    import lightgbm

    lags = [*range(1, 8), 14]

    def features(known: pd.Series, events: pd.DatetimeIndex) -> pd.DataFrame:
        local = events.tz_convert(s.timezone)
        frame = {f"lag_{d}d": known.reindex(events - d * DAY).to_numpy() for d in lags}
        frame["time_of_day"] = (local.hour * 60 + local.minute).to_numpy()
        frame["day_of_week"] = local.dayofweek.to_numpy()
        return pd.DataFrame(frame, index=events)

    def forecast(known: pd.Series, origin, events) -> np.ndarray:
        train = known.dropna()
        train = train[train.index >= origin - 365 * DAY]
        model = lightgbm.LGBMRegressor(n_jobs=1, verbose=-1, random_state=0)
        model.fit(features(known, train.index), train.to_numpy())
        return model.predict(features(known, events))

    return forecast


def cached_references(y: pd.Series, origins: list, s: PublicSeries, fresh: bool) -> pd.DataFrame:
    key = hashlib.sha256(
        f"{s.name}|{origins[0]}|{len(origins)}|{len(y)}|{np.nansum(y.to_numpy())}|v1".encode()
    ).hexdigest()[:16]
    path = CACHE / f"{s.name}-{key}.pkl"
    if path.exists() and not fresh:
        return pd.read_pickle(path)
    started = time.process_time()
    frame = reference_forecasts(y, origins, s)
    print(f"  references computed in {time.process_time() - started:.0f} s CPU", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    frame.to_pickle(path)
    return frame


def bvp_pick(y: pd.Series, selection_origins: list, test_origins: list, s: PublicSeries):
    """BVP's choice on the days before the test days, then its forecasts of the test days."""
    context = s.context
    started = time.process_time()
    from bvp.forecasting.models import MODELS

    selection = backtest(y, selection_origins, DAY, s.resolution, dict(MODELS), **context)
    choice = choose(selection, s.timezone)
    selection_cpu = time.process_time() - started
    model = model_named(choice.model, choice.members)
    started = time.process_time()
    test = backtest(y, test_origins, DAY, s.resolution, {choice.model: model}, **context)
    forecast_cpu = (time.process_time() - started) / len(test_origins)
    frame = test.forecasts
    banded = with_intervals(
        pd.Series(frame[0.5].to_numpy(), index=pd.DatetimeIndex(frame["event"])),
        choice.offsets,
        frame["spread"].to_numpy(),
        s.timezone,
    )
    banded = within_bounds(banded, s.resolution, **context)  # as make_forecast does
    for quantile in banded.columns:
        frame[quantile] = banded[quantile].to_numpy()
    frame["model"] = f"BVP: {choice.label()}"
    return frame, choice, selection_cpu, forecast_cpu


def run(s: PublicSeries, fresh: bool) -> dict:
    y = regular(s.load(), s.resolution)
    test_origins = daily_origins(y, s.timezone, ORIGINS)
    selection_origins = daily_origins(y, s.timezone, ORIGINS, skip_last=ORIGINS)
    references = cached_references(y, test_origins, s, fresh)
    pick, choice, selection_cpu, forecast_cpu = bvp_pick(y, selection_origins, test_origins, s)
    everything = pd.concat([references, pick], ignore_index=True)
    everything["actual"] = y.reindex(pd.DatetimeIndex(everything["event"])).to_numpy()
    table = score_table(everything, mase_scale(y, test_origins[0], s.resolution))
    best_reference = table.loc[REFERENCES, "mase"].idxmin()
    bvp = table.loc[pick["model"].iloc[0]]
    return {
        "series": s.name,
        "held_out": s.held_out,
        "resolution": str(s.resolution),
        "test_days": f"{test_origins[0]:%Y-%m-%d} to {test_origins[-1]:%Y-%m-%d}",
        "references": {m: round(float(table.loc[m, "mase"]), 3) for m in REFERENCES},
        "best_reference": best_reference,
        "bvp_model": choice.label(),
        "bvp_mase": round(float(bvp["mase"]), 3),
        "bvp_coverage": round(float(bvp["coverage"]), 3),
        "vs_best": round(float(bvp["mase"] / table.loc[best_reference, "mase"]), 3),
        "selection_cpu_s": round(selection_cpu, 1),
        "forecast_cpu_s_per_origin": round(forecast_cpu, 2),
        "selection_scores": {m: round(v["mase"], 3) for m, v in choice.scores.items()},
        "points": int(bvp["points"]),
    }


def print_table(rows: list[dict]) -> None:
    print(
        "\n| series | naive day | naive week | MSTL+AutoETS | LightGBM lags "
        "| BVP's pick | BVP MASE | vs best | p10-p90 coverage | selection CPU s "
        "| forecast CPU s/origin |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        refs = " | ".join(f"{r['references'][m]:.3f}" for m in REFERENCES)
        name = r["series"] + (" (held out)" if r["held_out"] else "")
        print(
            f"| {name} | {refs} | {r['bvp_model']} | **{r['bvp_mase']:.3f}** "
            f"| {r['vs_best']:.2f} | {r['bvp_coverage']:.0%} | {r['selection_cpu_s']:.1f} "
            f"| {r['forecast_cpu_s_per_origin']:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="*", help="only these series (default: all)")
    parser.add_argument("--fresh", action="store_true", help="recompute the references")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"# {platform.node()}, {os.cpu_count()} cores, {pd.Timestamp.now('UTC'):%Y-%m-%d}")
    print(f"# day-ahead from {ORIGINS} local midnights per series, one thread per fit")
    rows = []
    with threadpool_limits(1):
        for s in SERIES:
            if args.series and s.name not in args.series:
                continue
            print(f"{s.name} ...", flush=True)
            rows.append(run(s, args.fresh))
            print("  " + json.dumps(rows[-1]), flush=True)
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
