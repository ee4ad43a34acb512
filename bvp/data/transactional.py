"""One request, one CLI command, one job = one transaction.

``transactional`` is both a context manager and a decorator. The outermost use
commits on success, rolls back on any error (and re-raises), and leaves the
session clean either way; nested uses join the outer transaction. Work that must
happen only once the data is safely stored (enqueueing jobs) is registered with
``after_commit`` and runs after the outermost commit, never before and never
after a rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ContextDecorator

from sqlalchemy.orm import Session as OrmSession

from bvp.data.db import Session

_DEPTH = "bvp_transaction_depth"
_AFTER_COMMIT = "bvp_after_commit"


class transactional(ContextDecorator):  # noqa: N801 - reads as a statement: `with transactional():`
    def __enter__(self) -> OrmSession:
        session = Session()
        session.info[_DEPTH] = session.info.get(_DEPTH, 0) + 1
        return session

    def __exit__(self, exc_type, exc, tb) -> bool:
        session = Session()
        session.info[_DEPTH] -= 1
        if session.info[_DEPTH] > 0:
            return False  # the outermost block decides
        callbacks = session.info.pop(_AFTER_COMMIT, [])
        if exc_type is None:
            try:
                session.commit()
            except BaseException:
                session.rollback()
                raise
            for callback in callbacks:
                callback()
        else:
            session.rollback()
        return False


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current (outermost) transaction has committed."""
    session = Session()
    if session.info.get(_DEPTH, 0) == 0:
        raise RuntimeError("after_commit() needs an open transactional() block.")
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def rollback_unfinished() -> None:
    """Request teardown: whatever a request left uncommitted is rolled back."""
    session = Session()
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_DEPTH, None)
    Session.remove()
