"""Paging through every belief written since a time, for downstream pipelines.

Pages are ordered by the writing transaction (``recorded_txid``) and then the belief
key, and only hand out rows of transactions that have finished: rows of a transaction
older than the oldest one still running (``pg_snapshot_xmin``) can no longer appear or
change. So a cursor never skips a belief that commits later, and never hands one out
twice, however many writers run concurrently. A belief written again (a changed value)
is handed out again, later, with its new value.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from bvp.data.utc import to_utc

MAX_PAGE = 10_000


class CursorError(ValueError):
    field = "cursor"

    def __init__(self):
        super().__init__("cursor: not a cursor this API handed out")


@dataclass(frozen=True)
class ExportPage:
    beliefs: pd.DataFrame  # sensor_id, event_start, belief_time, source_id, cp, event_value,
    # recorded_at
    cursor: str | None  # where the next page starts; None if nothing was handed out yet
    complete: bool  # False: the page was full, ask again with the cursor right away


def encode_cursor(position: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_cursor(cursor: str) -> tuple:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        txid, sensor_id, event_start, belief_time, source_id, cp = position
        return (
            int(txid),
            int(sensor_id),
            to_utc(event_start),
            to_utc(belief_time),
            int(source_id),
            float(cp),
        )
    except (ValueError, TypeError, json.JSONDecodeError):
        raise CursorError() from None


def export_page(
    session: Session,
    *,
    account_id: int | None,
    sensor_ids: list[int] | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 1000,
) -> ExportPage:
    """One page of beliefs of the account's sensors (all accounts for ``None``)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    conditions = [
        "tb.recorded_txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    ]
    params: dict[str, object] = {"limit": limit}
    if account_id is not None:
        conditions.append("a.account_id = :account_id")
        params["account_id"] = account_id
    if sensor_ids:
        conditions.append("tb.sensor_id = ANY(:sensor_ids)")
        params["sensor_ids"] = sensor_ids
    if updated_since is not None:
        conditions.append("tb.recorded_at >= :updated_since")
        params["updated_since"] = to_utc(updated_since, "updated_since")
    if cursor:
        conditions.append(
            "(tb.recorded_txid, tb.sensor_id, tb.event_start, tb.belief_time, tb.source_id, "
            "tb.cumulative_probability) > (:c0, :c1, :c2, :c3, :c4, :c5)"
        )
        conditions.append("tb.recorded_txid >= :c0")  # lets the BRIN index skip old rows
        params.update({f"c{i}": value for i, value in enumerate(decode_cursor(cursor))})
    rows = session.execute(
        text(
            "SELECT tb.recorded_txid, tb.sensor_id, tb.event_start, tb.belief_time, "
            "tb.source_id, tb.cumulative_probability, tb.event_value, tb.recorded_at "
            "FROM timed_belief tb JOIN sensor s ON s.id = tb.sensor_id "
            "JOIN asset a ON a.id = s.asset_id "
            f"WHERE {' AND '.join(conditions)} "
            "ORDER BY tb.recorded_txid, tb.sensor_id, tb.event_start, tb.belief_time, "
            "tb.source_id, tb.cumulative_probability LIMIT :limit"
        ),
        params,
    ).all()
    columns = [
        "recorded_txid",
        "sensor_id",
        "event_start",
        "belief_time",
        "source_id",
        "cumulative_probability",
        "event_value",
        "recorded_at",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    next_cursor = cursor
    if rows:
        last = rows[-1]
        next_cursor = encode_cursor(
            [last[0], last[1], last[2].isoformat(), last[3].isoformat(), last[4], last[5]]
        )
    frame = frame.drop(columns="recorded_txid").astype({"event_value": np.float64})
    return ExportPage(frame, next_cursor, complete=len(rows) < limit)
