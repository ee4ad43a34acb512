"""Two accounts with a user of every role each, a sensor each, and a way to call as them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from bvp.data.models import Account, Asset, Sensor, User
from bvp.data.models.accounts import ensure_roles
from bvp.data.models.auth_tokens import issue_token
from bvp.data.passwords import hash_password

PASSWORD = "correct horse battery"
ROLES = ("admin", "account-admin", "user", "viewer")
PASSWORD_HASH = hash_password(PASSWORD)  # once: Argon2 is slow on purpose


@dataclass
class Caller:
    """A test client that sends one user's bearer token."""

    client: object
    token: str
    user_id: int

    def _headers(self, headers=None):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, **kwargs):
        return self.client.get(url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, url, **kwargs):
        return self.client.patch(url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, url, **kwargs):
        return self.client.delete(url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def world(app, db):
    """Accounts "north" and "south", each with an asset, a 15-min kW sensor and four users."""
    roles = {r.name: r for r in ensure_roles(db)}
    world = {}
    for account_name in ("north", "south"):
        account = Account(name=account_name)
        asset = Asset(name=f"{account_name} park", asset_type="pv", account=account)
        sensor = Sensor(
            name="power",
            unit="kW",
            event_resolution=timedelta(minutes=15),
            timezone="Europe/Amsterdam",
            asset=asset,
        )
        energy = Sensor(
            name="energy",
            unit="kWh",
            event_resolution=timedelta(minutes=15),
            timezone="Europe/Amsterdam",
            asset=asset,
        )
        users = {
            role: User(
                email=f"{role}@{account_name}.example",
                password_hash=PASSWORD_HASH,
                account=account,
                roles=[roles[role]],
            )
            for role in ROLES
        }
        db.add_all([account, asset, sensor, energy, *users.values()])
        db.flush()
        # Plain ids: ORM objects would go stale between requests.
        world[account_name] = {
            "account": account.id,
            "asset": asset.id,
            "sensor": sensor.id,
            "energy": energy.id,
            "users": {role: user.id for role, user in users.items()},
        }
    db.commit()
    return world


@pytest.fixture
def as_(app, db, world):
    """as_("user", "north") -> a Caller with a fresh token of that user."""

    def caller(role: str, account: str = "north") -> Caller:
        user = db.get(User, world[account]["users"][role])
        token, _ = issue_token(db, user, timedelta(hours=1))
        db.commit()
        return Caller(app.test_client(), token, user.id)

    return caller


def ids(world, account="north"):
    return world[account]["sensor"], world[account]["asset"]
