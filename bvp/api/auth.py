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
from bvp.data.models.accounts import (  # noqa: F401 (the roles, for the routes)
    ADMIN,
    MANAGE_ROLES,
    WRITE_DATA_ROLES,
    scope_of,
)
from bvp.data.models.auth_tokens import bearer_token, user_for_token


def authenticate() -> None:
    """before_request of protected blueprints: a valid bearer token or Hawk signature.
    OPTIONS asks only which methods a path serves (Flask answers it): no credentials."""
    if flask_request.method == "OPTIONS":
        return
    authorization = flask_request.headers.get("Authorization", "").strip()
    if authorization.partition(" ")[0].lower() == "hawk":
        g.user, g.auth_token = user_for_hawk(authorization), None
        return
    token = bearer_token(authorization, bare=True)  # FlexMeasures clients send it bare
    if token is None:
        abort(
            401,
            message="Authentication needed: send `Authorization: Bearer <token>` "
            "or sign the request with Hawk.",
        )
    found = user_for_token(Session(), token)
    if found is None:
        abort(401, message="The token is unknown, expired or revoked.")
    g.user, g.auth_token = found


def current_user() -> User:
    return g.user


def account_scope(user: User | None = None) -> int | None:
    """The account whose things the user may see; None means all (admins)."""
    return scope_of(user or current_user())


def require_role(roles: set[str], doing: str) -> None:
    if not any(current_user().has_role(role) for role in roles):
        abort(403, message=f"Your role does not allow {doing}.")


def not_found(what: str, identifier: int):
    abort(404, message=f"There is no {what} {identifier}.")
