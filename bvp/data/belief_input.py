"""What ``save_beliefs`` accepts: a DataFrame or a mapping of arrays, checked vectorised
and normalised to one numpy array per column, every error naming its field and index.

Here because the rules of input (which columns, which types, what is refused) change
for other reasons than how beliefs reach PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from bvp.data.belief_copy import BELIEF_COLUMNS, to_pg_us
from bvp.data.utc import to_utc, to_utc_index

BELIEF_KEY = BELIEF_COLUMNS[:5]


class BeliefsError(ValueError):
    """Beliefs that cannot be stored; ``field`` and ``index`` say where."""

    def __init__(self, message: str, field: str, index: int | None = None):
        self.field = field
        self.index = index
        where = field if index is None else f"{field}[{index}]"
        super().__init__(f"{where}: {message}")


def belief_arrays(
    beliefs: pd.DataFrame | Mapping[str, object],
    sensor_id: int | None,
    source_id: int | None,
    belief_time: datetime | None,
    cumulative_probability: float,
) -> dict[str, np.ndarray]:
    """Validate and normalise input to one array per column (timestamps as PG µs)."""
    if isinstance(beliefs, pd.DataFrame):
        columns = {c: beliefs[c] for c in beliefs.columns}
        if "event_start" not in columns and isinstance(beliefs.index, pd.DatetimeIndex):
            columns["event_start"] = beliefs.index
    else:
        columns = dict(beliefs)
    if "event_start" not in columns or "event_value" not in columns:
        raise BeliefsError(
            "is required", "event_start" if "event_start" not in columns else "event_value"
        )
    event_start = to_utc_index(columns["event_start"], "event_start")
    n = len(event_start)
    scalars = {
        "sensor_id": sensor_id,
        "source_id": source_id,
        "belief_time": belief_time,
        "cumulative_probability": cumulative_probability,
    }
    arrays: dict[str, np.ndarray] = {"event_start": to_pg_us(event_start)}
    for name, scalar in scalars.items():
        raw = columns.get(name)
        if raw is None:
            if scalar is None:
                raise BeliefsError("is required (as a column or a keyword)", name)
            raw = [scalar] * n if name != "belief_time" else [to_utc(scalar, name)] * n
        if len(raw) != n:
            raise BeliefsError(f"has {len(raw)} values for {n} events", name)
        arrays[name] = raw
    arrays["belief_time"] = to_pg_us(to_utc_index(arrays["belief_time"], "belief_time"))
    arrays["sensor_id"] = _integers(arrays["sensor_id"], "sensor_id")
    arrays["source_id"] = _integers(arrays["source_id"], "source_id")
    arrays["cumulative_probability"] = _floats(
        arrays["cumulative_probability"], "cumulative_probability"
    )
    bad = np.flatnonzero(
        ~((arrays["cumulative_probability"] > 0) & (arrays["cumulative_probability"] <= 1))
    )
    if bad.size:
        raise BeliefsError("must be in (0, 1]", "cumulative_probability", int(bad[0]))
    values = columns["event_value"]
    if len(values) != n:
        raise BeliefsError(f"has {len(values)} values for {n} events", "event_value")
    arrays["event_value"] = _floats(values, "event_value", allow_nan=True)
    infinite = np.flatnonzero(np.isinf(arrays["event_value"]))
    if infinite.size:
        raise BeliefsError("must be a finite number", "event_value", int(infinite[0]))
    return arrays


def _integers(values, field: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        try:
            as_float = array.astype(np.float64)
        except (TypeError, ValueError):
            raise BeliefsError("must be integers", field) from None
        bad = np.flatnonzero(np.isnan(as_float) | (as_float != np.round(as_float)))
        if bad.size:
            raise BeliefsError("must be an integer", field, int(bad[0]))
        array = as_float
    return array.astype(np.int32)


def _floats(values, field: str, allow_nan: bool = False) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "f":
        result = array.astype(np.float64, copy=False)
    else:
        result = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        invalid = np.flatnonzero(np.isnan(result) & pd.notna(array))
        if invalid.size:
            raise BeliefsError("must be a number", field, int(invalid[0]))
    if not allow_nan:
        missing = np.flatnonzero(np.isnan(result))
        if missing.size:
            raise BeliefsError("must not be empty", field, int(missing[0]))
    return result


def last_per_key(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sort by key and keep the last occurrence of each (ON CONFLICT needs unique keys)."""
    n = len(arrays["event_value"])
    if n < 2:
        return arrays
    # np.lexsort's primary key is the last one; original position breaks ties.
    order = np.lexsort((np.arange(n), *(arrays[k] for k in reversed(BELIEF_KEY))))
    ordered = {k: v[order] for k, v in arrays.items()}
    same_as_next = np.ones(n - 1, dtype=bool)
    for k in BELIEF_KEY:
        same_as_next &= ordered[k][1:] == ordered[k][:-1]
    if not same_as_next.any():
        return ordered
    keep = np.append(~same_as_next, True)
    return {k: v[keep] for k, v in ordered.items()}
