"""POST /api/v1/auth/token (email + password -> bearer token); DELETE revokes it."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g
from flask_smorest import Blueprint, abort

from bvp.api.auth import authenticate
from bvp.api.errors import errors_documented
from bvp.api.schemas import TokenRequestSchema, TokenSchema
from bvp.data.models.accounts import authenticate_password
from bvp.data.models.auth_tokens import AuthToken, issue_token, revoke_token
from bvp.data.transactional import transactional
from bvp.limits import login_limit

tokens = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


@tokens.post("/token")
@login_limit()
@tokens.arguments(TokenRequestSchema)
@tokens.response(201, TokenSchema)
@errors_documented(tokens, {401: "Wrong email or password, or an inactive user."})
def create_token(credentials):
    """Exchange email and password for a bearer token that expires."""
    token, record = log_in(credentials["email"], credentials["password"])
    return {"token": token, "expires_at": record.expires_at}


def log_in(email: str, password: str) -> tuple[str, AuthToken]:
    """A new token for an active user with this password; 401 otherwise."""
    with transactional() as session:
        user = authenticate_password(session, email, password)
        if user is None:
            abort(401, message="Wrong email or password.")
        lifetime = timedelta(seconds=current_app.config["TOKEN_LIFETIME_SECONDS"])
        return issue_token(session, user, lifetime)


@tokens.delete("/token")
@tokens.response(204)
@errors_documented(
    tokens, {401: "No valid token was sent.", 422: "The request was not made with a token."}
)
@tokens.doc(security=[{"bearerAuth": []}])
def revoke_current_token():
    """Revoke the token this request was made with."""
    authenticate()
    if g.auth_token is None:
        abort(422, message="This request was not made with a token.")
    with transactional() as session:
        revoke_token(session, session.merge(g.auth_token))
