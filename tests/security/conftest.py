"""Security tests reuse the suites' two-account worlds rather than building their own.

The API's world (tests/api/conftest.py: accounts "north" and "south", a user of every
role each, ``as_`` to call as one of them) serves the API's matrix and the secrets
tests. The dashboard needs the dashboard's world (tests/ui/conftest.py), whose requests
run without a test-long app context, as in production (Flask-Login keeps the signed-in
user in the app context).
"""

from __future__ import annotations

import pytest

from tests.api.conftest import as_, world  # noqa: F401  (fixtures, reused)
from tests.ui.conftest import build_world, database  # noqa: F401  (fixture, reused)


@pytest.fixture
def ui_world(database):  # noqa: F811
    with database() as db:
        return build_world(db)
