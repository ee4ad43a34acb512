"""One unit of work, one transaction: all of it, or none of it."""

import pytest
from sqlalchemy import func, select

from bvp.data.db import Session
from bvp.data.models import Account, Role
from bvp.data.transactional import after_commit, transactional


def accounts(db) -> int:
    return db.scalar(select(func.count()).select_from(Account))


def test_success_commits(db):
    with transactional() as session:
        session.add(Account(name="a"))
    db.close()
    assert accounts(db) == 1


def test_a_failure_midway_leaves_nothing_behind_and_a_clean_session(db):
    with pytest.raises(RuntimeError, match="boom"), transactional() as session:
        session.add(Account(name="first"))
        session.flush()  # the row reached the database inside the transaction
        raise RuntimeError("boom")
    assert accounts(db) == 0
    with transactional() as session:  # the session is usable again
        session.add(Role(name="viewer", description=""))
    assert db.scalar(select(func.count()).select_from(Role)) == 1


def test_decorated_function_rolls_back_on_a_database_error(db):
    @transactional()
    def create_two_with_the_same_name():
        session = db
        session.add(Account(name="twin"))
        session.flush()
        session.add(Account(name="twin"))
        session.flush()

    with pytest.raises(Exception, match="uq_account_name"):
        create_two_with_the_same_name()
    assert accounts(db) == 0


def test_nested_blocks_join_the_outer_transaction(db):
    with pytest.raises(ValueError), transactional() as session:
        with transactional():
            session.add(Account(name="inner"))
        raise ValueError("outer fails after inner finished")
    assert accounts(db) == 0


def test_after_commit_runs_only_after_a_commit(db):
    calls = []
    with transactional() as session:
        session.add(Account(name="x"))
        after_commit(lambda: calls.append(accounts(db)))
        assert calls == []
    assert calls == [1]  # ran after commit and saw the committed row
    with pytest.raises(KeyError), transactional():
        after_commit(lambda: calls.append("never"))
        raise KeyError("rolled back")
    assert calls == [1]


def test_request_teardown_rolls_back_what_a_request_left_uncommitted(app, db):
    with app.test_request_context("/api/v1/anything"):
        session = Session()
        session.add(Account(name="half-done"))
        session.flush()  # written inside the request's transaction, never committed
    # Leaving the request context ran the request teardown.
    assert accounts(db) == 0
