"""Monthly partitions of ``timed_belief``, made when the first belief of a month arrives.

``timed_belief`` is partitioned by range of ``event_start`` (migration 0010), one
partition per calendar month (UTC): ``timed_belief_y2026m01`` holds the events that
start in January 2026. A month's partition is made the first time a belief about it is
saved, so there is nothing to schedule and no catch-all partition to empty later.

Why this way:

- Only months that hold data get a partition. A batch with events in 1990 and 2090
  makes two partitions, not 1,200.
- A partition is made in its own short transaction on a second connection, by
  creating a plain table and ``ATTACH PARTITION``-ing it. Attaching takes a ``SHARE
  UPDATE EXCLUSIVE`` lock on ``timed_belief``, which does not conflict with writers'
  and readers' locks, so the caller's open transaction (which may already have
  written beliefs) is neither blocked nor blocking, and the new partition is visible
  to it at once. ``CREATE TABLE … PARTITION OF`` would need an ``ACCESS EXCLUSIVE``
  lock: it would wait for every open transaction that touched beliefs, including
  the caller's own.
- An advisory lock serialises makers, so two processes needing the same month make
  it once; a lock timeout turns a stuck wait into an error instead of a hang.
- Which months are covered is read from the partition bounds themselves, so a
  partition covering several months (the pre-partitioning table that migration 0010
  attached as ``timed_belief_before_…``, or one an operator made by hand) counts too.

A partition made for a transaction that later rolls back stays, empty; it costs a
few pages and is used by the next write to that month.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

PARENT = "timed_belief"
# Any fixed 64-bit number: the advisory lock every partition maker takes.
_MAKER_LOCK = 0x62_76_70_70_61_72_74  # "bvppart"

# The ranges (lower inclusive, upper exclusive) that existing partitions cover. Bounds
# are printed by pg_get_expr in the session's time zone and read back by the cast;
# MINVALUE/MAXVALUE become -infinity/infinity.
_COVERED = f"""
SELECT c.relname,
       CASE b.lower WHEN 'MINVALUE' THEN '-infinity' ELSE trim(b.lower, '''') END::timestamptz,
       CASE b.upper WHEN 'MAXVALUE' THEN 'infinity' ELSE trim(b.upper, '''') END::timestamptz
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (
    SELECT m[1] AS lower, m[2] AS upper
    FROM regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\((.*)\\) TO \\((.*)\\)') m
) b
WHERE i.inhparent = '{PARENT}'::regclass
"""  # noqa: S608 - constants only
_BOUNDS_IN_SECONDS = f"""
WITH covered (name, lower, upper) AS ({_COVERED})
SELECT extract(epoch FROM lower)::float8, extract(epoch FROM upper)::float8 FROM covered
"""  # noqa: S608 - constants only
_PARTITION_OIDS = f"""
SELECT coalesce(array_agg(inhrelid::bigint ORDER BY inhrelid), '{{}}')
FROM pg_inherits WHERE inhparent = '{PARENT}'::regclass
"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class _Coverage:
    """The ranges the partitions cover (epoch seconds; -inf/inf for MINVALUE/MAXVALUE),
    valid while the set of partitions (their oids) is the same."""

    oids: list[int]
    lower: np.ndarray
    upper: np.ndarray

    def uncovered(self, months: np.ndarray) -> np.ndarray:
        seconds = months.astype("datetime64[s]").astype(np.float64)[:, None]
        covered = ((seconds >= self.lower) & (seconds < self.upper)).any(axis=1)
        return months[~covered]


# Per database: reading the bounds costs milliseconds with a hundred partitions, reading
# the partitions' oids a fraction of one, so the bounds are read again only when those
# change (a partition made or dropped, by this process or any other).
_coverage: dict[str, _Coverage] = {}


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime
    upper: datetime
    rows: int  # PostgreSQL's estimate (pg_class.reltuples), exact only after ANALYZE
    bytes: int  # table plus indexes


def partition_name(month: np.datetime64 | datetime) -> str:
    """``timed_belief_y2026m01`` for January 2026."""
    if isinstance(month, datetime):  # aware, in whatever zone the database answered in
        month = np.datetime64(month.astimezone(UTC).replace(tzinfo=None))
    year, m = str(month.astype("datetime64[M]")).split("-")
    return f"{PARENT}_y{year}m{m}"


def months_of(event_starts: np.ndarray) -> np.ndarray:
    """The distinct calendar months (UTC) of ``datetime64`` event starts, sorted."""
    months = event_starts.astype("datetime64[M]")
    if len(months) and months.min() == months.max():  # the common case: no sort
        return months[:1]
    return np.unique(months)


def ensure_partitions(session: Session, event_starts: np.ndarray) -> list[str]:
    """Make the missing monthly partitions for these event starts; return their names.

    Costs one small catalog query when every month is covered already (nearly always).
    """
    months = months_of(event_starts)
    if not len(months):
        return []
    missing = _coverage_of(session.connection()).uncovered(months)
    if not len(missing):
        return []
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return _make(engine, missing)


def _coverage_of(connection: Connection) -> _Coverage:
    database = connection.engine.url.render_as_string(hide_password=True)
    oids = connection.execute(text(_PARTITION_OIDS)).scalar()
    coverage = _coverage.get(database)
    if coverage is None or coverage.oids != oids:
        bounds = np.array(connection.execute(text(_BOUNDS_IN_SECONDS)).all(), dtype=np.float64)
        bounds = bounds.reshape(-1, 2)
        coverage = _coverage[database] = _Coverage(oids, bounds[:, 0], bounds[:, 1])
    return coverage


def list_partitions(connection: Connection) -> list[Partition]:
    rows = connection.execute(
        text(
            f"""
            WITH covered (name, lower, upper) AS ({_COVERED})
            SELECT covered.name, lower, upper, greatest(c.reltuples, 0)::bigint,
                   pg_total_relation_size(c.oid)
            FROM covered JOIN pg_class c ON c.relname = covered.name
            ORDER BY lower
            """  # noqa: S608 - constants only
        )
    )
    return [Partition(*row) for row in rows]


def _make(engine: Engine, months: np.ndarray) -> list[str]:
    """Partitions for those of ``months`` (``datetime64[M]``) still uncovered once the
    maker's lock is held: others may have made some meanwhile."""
    made = []
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '30s'"))  # an error, never a hang
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MAKER_LOCK})
        for month in _coverage_of(connection).uncovered(months):
            lower = _as_utc(month)
            name = partition_name(lower)
            upper = _next_month(lower)
            bounds = {"lower": lower, "upper": upper}
            # A plain table with the parent's columns and defaults; attaching it adds the
            # parent's primary key and indexes. The CHECK constraint spares ATTACH its
            # scan of the (empty) table; it is dropped once the bound replaces it.
            connection.execute(text(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS)'))
            connection.execute(
                text(
                    f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_bound" CHECK '
                    "(event_start IS NOT NULL AND event_start >= CAST(:lower AS timestamptz) "
                    "AND event_start < CAST(:upper AS timestamptz))"
                ).bindparams(**bounds),
            )
            connection.execute(
                text(
                    f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" FOR VALUES '
                    "FROM (CAST(:lower AS timestamptz)) TO (CAST(:upper AS timestamptz))"
                ).bindparams(**bounds),
            )
            connection.execute(text(f'ALTER TABLE "{name}" DROP CONSTRAINT "{name}_bound"'))
            made.append(name)
    for name in made:
        log.info("Made partition %s of %s", name, PARENT)
    return made


def _as_utc(month: np.datetime64) -> datetime:
    return month.astype("datetime64[us]").item().replace(tzinfo=UTC)


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
