"""Issue 18's study of regime shifts: ways to combine or choose BVP's models, scored on
the public series of forecast_quality.py without refitting anything per variant.

Per series, every BVP model is backtested once, day-ahead from 7 + 28 + 28 local
midnights (warm-up, the selection days, the test days of forecast_quality.py). Each
variant then chooses among the single models and the ensemble of the best 2 or 3 on the
selection days (lowest MAE on the points every model forecast), as ``choose`` does, and
is scored on the test days: MASE on forecast_quality.py's fixed scale, over every point
where the pick and the actual exist (not the references' common points), and p10-p90
coverage of the band calibrated on the selection days. Variants:

- baseline: the mean of the members (BVP's ensemble);
- online-wW-pP: member weights at each origin from the members' MAE over the W days
  before it, to the power -P (errors known at the origin; needs each member's past
  forecasts at every forecast);
- recent-selection-hH: the selection's errors weigh by age, half-life H days;
- static-pP: fixed inverse-MAE weights from the selection days;
- level-A: the candidates also with yesterday's level, a share A of the ratio of the last
  day's actual to forecast total (offered on the selection days, not forced);
- weekly: chosen again every 7 test days on the 28 days before (as production's
  MODEL_MAX_AGE_DAYS does; the bench chooses once).

Backtests are cached in .bvp/bench-cache/regime_study/. Results and what was kept are in
bench/README.md. Held-out series only with --held-out: they are scored, never tuned on.
Usage: python bench/regime_study.py [--series NAME ...] [--held-out]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from public_series import SERIES, daily_origins, regular

from bvp.data.scores import mase_scale
from bvp.forecasting.backtest import backtest
from bvp.forecasting.bounds import within_bounds
from bvp.forecasting.calibration import interval_offsets, with_intervals
from bvp.forecasting.models import MODELS

DAY = pd.Timedelta(days=1)
WARM, DAYS = 7, 28
CACHE = Path(".bvp/bench-cache/regime_study")


def all_models(y: pd.Series, origins: list, s) -> pd.DataFrame:
    """Every model's forecasts from every origin, wide: (origin, event) x model, with the
    actual and the recent spread."""
    key = hashlib.sha256(f"{s.name}|{origins[0]}|{len(origins)}|{len(y)}".encode()).hexdigest()
    path = CACHE / f"{s.name}-{key[:16]}.pkl"
    if path.exists():
        return pd.read_pickle(path)
    long = backtest(y, origins, DAY, s.resolution, dict(MODELS), **s.context).forecasts
    wide = long.pivot(index=["origin", "event"], columns="model", values=0.5)
    first = long.drop_duplicates(["origin", "event"]).set_index(["origin", "event"])
    wide["actual"] = first["actual"].reindex(wide.index)
    wide["spread"] = first["spread"].reindex(wide.index)
    CACHE.mkdir(parents=True, exist_ok=True)
    wide.to_pickle(path)
    return wide


def weighted(wide: pd.DataFrame, members: list[str], weights: pd.DataFrame | None):
    """The members' mean, or their weighted mean with weights per origin; a member without
    a forecast leaves its weight to the others."""
    values = wide[members].to_numpy(dtype=float)
    if weights is None:
        return pd.Series(np.nanmean(values, axis=1), index=wide.index)
    w = weights.reindex(wide.index.get_level_values("origin")).to_numpy(dtype=float)
    w = np.where(np.isnan(values), 0.0, w)
    total = w.sum(axis=1)
    mean = np.nansum(np.nan_to_num(values) * w, axis=1) / np.where(total > 0, total, 1.0)
    return pd.Series(np.where(total > 0, mean, np.nan), index=wide.index)


def daily_mae(wide: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    ok = wide[[*models, "actual"]].notna().all(axis=1)
    errors = wide.loc[ok, models].sub(wide.loc[ok, "actual"], axis=0).abs()
    return errors.groupby(level="origin").mean()


def online_weights(mae: pd.DataFrame, origins, members, window: int, power: float):
    """At each origin, weights from the members' MAE over the ``window`` origins before."""
    mae = mae.reindex(origins)[members]
    rows = []
    for i in range(len(origins)):
        past = mae.iloc[max(0, i - window) : i].mean()
        inverse = (1.0 / np.maximum(past, 1e-12)) ** power
        if inverse.isna().all():
            inverse = pd.Series(1.0, index=members)
        rows.append(inverse.fillna(0.0) / inverse.fillna(0.0).sum())
    return pd.DataFrame(rows, index=origins)


def with_level(pred: pd.Series, actual: pd.Series, origins, share: float) -> pd.Series:
    """``pred`` times yesterday's ratio of actual to forecast total (a ``share`` of it)."""
    origin = pred.index.get_level_values("origin")
    ok = pred.notna() & actual.notna()
    forecast = pred.where(ok).groupby(origin).sum().reindex(origins)
    measured = actual.where(ok).groupby(origin).sum().reindex(origins)
    ratio = (measured / forecast.where(forecast > 0)).shift(1).clip(0.0, 2.0).fillna(1.0)
    return pred * (1 + share * (ratio - 1)).reindex(origin).to_numpy()


def mae_of(pred: pd.Series, actual: pd.Series, age_days=None, half_life=None) -> float:
    ok = (pred.notna() & actual.notna()).to_numpy()
    errors = np.abs(pred.to_numpy()[ok] - actual.to_numpy()[ok])
    if half_life is None:
        return float(errors.mean())
    weights = 0.5 ** (np.asarray(age_days)[ok] / half_life)
    return float(np.sum(errors * weights) / np.sum(weights))


def choice(wide, origins, selection, variant: dict):
    """The candidates on ``selection``, the best of them and its full-length forecasts."""
    origin = wide.index.get_level_values("origin")
    chosen_on = origin.isin(selection)
    models = [m for m in MODELS if m in wide.columns and wide.loc[chosen_on, m].notna().any()]
    common = chosen_on & wide[[*models, "actual"]].notna().all(axis=1).to_numpy()
    age = ((selection[-1] + DAY - origin) / DAY).to_numpy(dtype=float)[common]
    half_life = variant.get("recent_selection")

    def score(pred):
        if variant.get("median_day"):  # the typical selection day, not the mean of them
            errors = (pred[common] - wide["actual"][common]).abs()
            return float(errors.groupby(level="origin").mean().median())
        return mae_of(pred[common], wide["actual"][common], age, half_life)

    ranked = sorted(models, key=lambda m: score(wide[m]))
    mae = daily_mae(wide, models)
    candidates = {m: wide[m] for m in ranked}
    for size in (2, 3):
        members = ranked[:size]
        if "online" in variant:
            window, power = variant["online"]
            weights = online_weights(mae, origins, members, window, power)
        elif "static" in variant:
            inverse = np.array([score(wide[m]) ** -variant["static"] for m in members])
            weights = pd.DataFrame([inverse / inverse.sum()] * len(origins), origins, members)
        else:
            weights = None
        candidates[f"ensemble of {' + '.join(members)}"] = weighted(wide, members, weights)
    if "level" in variant:
        for name in list(candidates):
            candidates[f"{name}, level"] = with_level(
                candidates[name], wide["actual"], origins, variant["level"]
            )
    best = min(candidates, key=lambda name: score(candidates[name]))
    return best, candidates[best]


def band(wide, pred, calibrated_on, applied_to, s) -> pd.DataFrame:
    tz = s.timezone
    events = pd.DatetimeIndex(wide.index.get_level_values("event"))
    offsets = interval_offsets(
        events[calibrated_on],
        pred[calibrated_on].to_numpy(),
        wide["actual"][calibrated_on].to_numpy(),
        wide["spread"][calibrated_on].to_numpy(),
        tz,
    )
    median = pd.Series(pred[applied_to].to_numpy(), index=events[applied_to])
    banded = with_intervals(median, offsets, wide["spread"][applied_to].to_numpy(), tz)
    return within_bounds(banded, s.resolution, **s.context)


def scores(banded: pd.DataFrame, actual: np.ndarray, scale: float) -> tuple[float, float]:
    median, low, high = (banded[q].to_numpy() for q in (0.5, 0.1, 0.9))
    ok = ~np.isnan(median) & ~np.isnan(actual)
    inside = (actual >= low) & (actual <= high)
    counted = ok & ~((low == high) & inside)
    return float(np.mean(np.abs(median[ok] - actual[ok])) / scale), float(inside[counted].mean())


VARIANTS = {
    "baseline": {},
    **{f"online-w{w}-p{p}": {"online": (w, p)} for w in (3, 7, 14) for p in (1, 2)},
    **{f"recent-selection-h{h}": {"recent_selection": h} for h in (3, 7, 14)},
    **{f"static-p{p}": {"static": p} for p in (1, 2)},
    **{f"level-{a}": {"level": a} for a in (0.5, 1.0)},
    "weekly": {"weekly": True},
    "median-day": {"median_day": True},
}


def study(s) -> dict:
    y = regular(s.load(), s.resolution)
    origins = daily_origins(y, s.timezone, WARM + 2 * DAYS)
    wide = all_models(y, origins, s)
    origin = wide.index.get_level_values("origin")
    test = origins[WARM + DAYS :]
    scale = mase_scale(y, test[0], s.resolution)
    rows = {}
    for name, variant in VARIANTS.items():
        blocks = [0] if not variant.get("weekly") else [0, 7, 14, 21]
        frames, actuals, picks = [], [], []
        for start in blocks:
            first = WARM + DAYS + start
            selection = origins[first - DAYS : first]
            days = test[start:] if len(blocks) == 1 else test[start : start + 7]
            pick, pred = choice(wide, origins, selection, variant)
            applied = origin.isin(days)
            frames.append(band(wide, pred, origin.isin(selection), applied, s))
            actuals.append(wide["actual"][applied].to_numpy())
            picks.append(pick)
        mase, coverage = scores(pd.concat(frames), np.concatenate(actuals), scale)
        rows[name] = {"mase": round(mase, 3), "coverage": round(coverage, 3), "picks": picks}
    naive = wide["naive-1d"][origin.isin(test)]
    rows["naive-1d"] = round(mae_of(naive, wide["actual"][origin.isin(test)]) / scale, 3)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="*", help="only these series (default: all)")
    parser.add_argument(
        "--held-out", action="store_true", help="also the held-out series (score, never tune)"
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = {}
    with threadpool_limits(1):
        for s in SERIES:
            if args.series and s.name not in args.series:
                continue
            if s.held_out and not args.held_out:
                continue
            results[s.name] = study(s)
            print(s.name, json.dumps(results[s.name]), flush=True)
    names = list(results)
    print("\n| variant | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    print("| naive-1d | " + " | ".join(f"{results[n]['naive-1d']:.3f}" for n in names) + " |")
    for variant in VARIANTS:
        cells = [
            f"{results[n][variant]['mase']:.3f} ({results[n][variant]['coverage']:.0%})"
            for n in names
        ]
        print(f"| {variant} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
