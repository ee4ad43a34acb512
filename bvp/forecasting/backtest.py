"""Rolling-origin backtests and the choice of a sensor's model.

Pure functions of pandas data. Every origin sees only what was measured before it;
models with ``refit_every`` are fitted at the first origin and again when that long has
passed (weekly), and forecast the origins between from their own history. Scores come
from ``bvp.data.scores``, over the points every model forecast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bvp.data.scores import common_points, mase_scale, score, score_table
from bvp.data.utc import iso_duration
from bvp.forecasting.bounds import within_bounds
from bvp.forecasting.calibration import interval_offsets, recent_spread, with_intervals
from bvp.forecasting.models import ENSEMBLE, MODELS, Model, model_label

ENSEMBLE_SIZES = (2, 3)  # the mean of the best two, or of the best three, models


@dataclass
class Backtest:
    """Forecasts of every model from every origin, long: model, origin, event, ahead
    (how far after the origin the event ends), 0.5 (the median), actual, and the
    series' recent spread at the origin (for calibration)."""

    forecasts: pd.DataFrame
    scale: float  # the fixed MASE scale: day-ago naive MAE before the first origin
    horizons: list[pd.Timedelta] = field(default_factory=list)

    def summary(self, horizon: pd.Timedelta | None = None) -> pd.DataFrame:
        """Scores per model over events up to ``horizon`` ahead (default: all), best first."""
        within = self.forecasts
        if horizon is not None:
            within = within[within["ahead"] <= horizon]
        return score_table(within, self.scale)

    def by_horizon(self) -> pd.DataFrame:
        """Scores per horizon (ISO 8601) and model."""
        tables = {iso_duration(h.to_pytimedelta()): self.summary(h) for h in sorted(self.horizons)}
        return pd.concat(tables, names=["horizon"])

    def per_origin(self) -> pd.DataFrame:
        """Scores per horizon, model and origin, with the points each was scored on, over
        the points every model forecast."""
        common = common_points(self.forecasts)
        rows = []
        for horizon in sorted(self.horizons):
            within = common[common["ahead"] <= horizon]
            for (model, origin), group in within.groupby(["model", "origin"], sort=False):
                scores = score(group[[0.5]], group["actual"].to_numpy(), self.scale)
                horizon_text = iso_duration(horizon.to_pytimedelta())
                rows.append({"horizon": horizon_text, "model": model, "origin": origin} | scores)
        return pd.DataFrame(rows)


def backtest(
    history: pd.Series,
    origins: list[pd.Timestamp],
    horizon: pd.Timedelta,
    resolution: pd.Timedelta,
    models: dict[str, Model] | list[str],
    lead_times: list[pd.Timedelta] | None = None,
    **context,
) -> Backtest:
    """Forecast ``horizon`` ahead from each origin with each model; ``context`` goes to
    the models. Also scored over the first ``lead_times`` of each forecast (the first
    hour, the first six), as the jobs queued for those horizons would be."""
    if isinstance(models, list):
        models = {name: MODELS[name] for name in models}
    frames = []
    spreads = {origin: recent_spread(history, origin, resolution) for origin in origins}
    for name, model in models.items():
        fitted, fitted_at = None, None
        for origin in origins:
            if fitted is None or _due(model, origin - fitted_at):
                fitted, fitted_at = (
                    model.fit(history, origin, resolution, horizon, **context),
                    origin,
                )
            events = pd.date_range(origin, origin + horizon, freq=resolution, inclusive="left")
            median = fitted(history, origin, events, **context)[0.5]
            median = within_bounds(median, resolution, **context)
            frames.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "origin": origin,
                        "event": events,
                        "ahead": events + resolution - origin,
                        0.5: median.to_numpy(dtype=float),
                        "actual": history.reindex(events).to_numpy(dtype=float),
                        "spread": spreads[origin],
                    }
                )
            )
    forecasts = pd.concat(frames, ignore_index=True) if frames else _empty()
    scale = mase_scale(history, origins[0], resolution) if origins else np.nan
    return Backtest(forecasts, scale, sorted({*(lead_times or []), horizon}))


def _due(model: Model, since_fit: pd.Timedelta) -> bool:
    return model.refit_every is None or since_fit >= model.refit_every


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["model", "origin", "event", "ahead", 0.5, "actual", "spread"])


@dataclass
class Choice:
    """The model a backtest chose, with what it needs to forecast and what it scored."""

    model: str
    members: list[str]  # of an ensemble
    mase: float | None
    scores: dict[str, dict[str, float | None]]  # per candidate
    offsets: dict[str, list[float]] | None  # calibrated interval offsets per local hour
    coverage: float | None = None  # of those offsets on the backtest's own days

    def label(self) -> str:
        return model_label(self.model, self.members)


def with_ensembles(result: Backtest) -> tuple[Backtest, list[str]]:
    """Add the ensemble of the best models (the mean of their medians) as a candidate;
    its members. The members' backtest forecasts are reused: nothing is fitted again."""
    table = result.summary()
    ranked = [m for m in table.index if np.isfinite(table.loc[m, "mase"])]
    forecasts = result.forecasts
    best, best_members = np.inf, []
    for size in ENSEMBLE_SIZES:
        if len(ranked) < size:
            break
        members = ranked[:size]
        candidate = _mean_of(forecasts, members)
        mase = score_table(
            pd.concat([forecasts[forecasts.model == members[0]], candidate]), result.scale
        ).loc[ENSEMBLE, "mase"]
        if mase < best:
            best, best_members, best_frame = mase, members, candidate
    if not best_members:
        return result, []
    combined = pd.concat([forecasts, best_frame], ignore_index=True)
    return Backtest(combined, result.scale, result.horizons), best_members


def _mean_of(forecasts: pd.DataFrame, members: list[str]) -> pd.DataFrame:
    chosen = forecasts[forecasts["model"].isin(members)]
    keys = ["origin", "event", "ahead"]
    mean = chosen.groupby(keys, sort=False).agg({0.5: "mean", "actual": "first", "spread": "first"})
    return mean.reset_index().assign(model=ENSEMBLE)


def choose(result: Backtest, timezone: str) -> Choice | None:
    """The candidate (an ensemble among them) with the lowest MASE, and its interval
    offsets calibrated on its own backtest errors; None if no model could be scored."""
    result, members = with_ensembles(result)
    table = result.summary()
    if table.empty or table["mase"].isna().all():
        return None
    model = str(table["mase"].idxmin())
    chosen = result.forecasts[result.forecasts["model"] == model]
    events = pd.DatetimeIndex(chosen["event"])
    median, spread = chosen[0.5].to_numpy(), chosen["spread"].to_numpy()
    offsets = interval_offsets(events, median, chosen["actual"].to_numpy(), spread, timezone)
    banded = with_intervals(pd.Series(median, index=events), offsets, spread, timezone)
    coverage = score(banded, chosen["actual"].to_numpy(), result.scale)["coverage"]
    scores = {
        name: {k: None if pd.isna(v) else float(v) for k, v in row.items()}
        for name, row in table.iterrows()
    }
    return Choice(
        model=model,
        members=members if model == ENSEMBLE else [],
        mase=float(table.loc[model, "mase"]),
        scores=scores,
        offsets=offsets,
        coverage=None if np.isnan(coverage) else coverage,
    )
