"""Writing a month's report to files: one per kind, as CSV, JSON or Parquet."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd

from bvp.metrics.reports import COLUMNS

FORMATS = ("csv", "json", "parquet")


def write_report(
    report: dict[str, list[dict]], month: str, directory: Path, fmt: str
) -> list[Path]:
    """``<dir>/<month>_<kind>.<fmt>`` for quality, accuracy and queues; the paths written."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, rows in report.items():
        path = directory / f"{month}_{kind}.{fmt}"
        if fmt == "json":
            path.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        else:
            frame = pd.DataFrame(rows, columns=COLUMNS[kind])  # headers even when empty
            if fmt == "csv":
                _defuse_formulas(frame).to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
        written.append(path)
    return written


def _defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text that a spreadsheet would run as a formula (a sensor named "=HYPERLINK(...)")
    is written with a leading apostrophe, as OWASP advises for CSV files; numbers stay."""
    frame = frame.copy()
    for column in frame.select_dtypes(include="object").columns:
        text = frame[column]
        risky = text.map(lambda v: isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"))
        frame.loc[risky, column] = "'" + text[risky]
    return frame
