"""Who is calling, and what they may do.

Every route of a protected blueprint authenticates first (default deny). Roles:
admin (everything), account-admin (manage assets, sensors and users of their own
account), user (read/write data of their account's sensors), viewer (read only).
Things of another account are reported as not found, never as forbidden.
"""

from __future__ import annotations

from flask import g
from flask import request as flask_request
from flask_smorest import abort

from bvp.api.hawk import user_for_hawk
from bvp.data.db import Session
from bvp.data.models import User
from bvp.data.models.auth_tokens import user_for_token

ADMIN = "admin"
MANAGE_ROLES = {"admin", "account-admin"}
WRITE_DATA_ROLES = {"admin", "account-admin", "user"}


def authenticate() -> None:
    """before_request of protected blueprints: a valid bearer token or Hawk signature."""
    authorization = flask_request.headers.get("Authorization", "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "hawk":
        g.user, g.auth_token = user_for_hawk(authorization), None
        return
    if authorization and not token:
        # FlexMeasures clients send the bare token, without "Bearer".
        scheme, token = "bearer", authorization
    if scheme.lower() != "bearer" or not token.strip():
        abort(
            401,
            message="Authentication needed: send `Authorization: Bearer <token>` "
            "or sign the request with Hawk.",
        )
    found = user_for_token(Session(), token.strip())
    if found is None:
        abort(401, message="The token is unknown, expired or revoked.")
    g.user, g.auth_token = found


def current_user() -> User:
    return g.user


def account_scope(user: User | None = None) -> int | None:
    """The account whose things the user may see; None means all (admins)."""
    user = user or current_user()
    return None if user.has_role(ADMIN) else user.account_id


def require_role(roles: set[str], doing: str) -> None:
    if not any(current_user().has_role(role) for role in roles):
        abort(403, message=f"Your role does not allow {doing}.")


def not_found(what: str, identifier: int):
    abort(404, message=f"There is no {what} {identifier}.")
