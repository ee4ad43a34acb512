"""Signing in to the dashboard: the API's users, passwords and roles, in a session cookie.

The session remembers the user id and a fingerprint of the password hash: changing a
password ends every other session, and a deactivated user is signed out at once.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from bvp.data.db import Session
from bvp.data.models import User
from bvp.data.models.accounts import ADMIN, authenticate_password, scope_of
from bvp.limits import limiter
from bvp.ui import URL_PREFIX, dashboard

login_manager = LoginManager()


class SignedInUser(UserMixin):
    """What a request needs to know about its user: plain values, no ORM object that
    would outlive its session."""

    def __init__(self, user: User, fingerprint: str):
        self.id = user.id
        self.email = user.email
        self.account_id = user.account_id
        self.timezone = user.account.timezone  # times on operational pages are shown in it
        self.roles = frozenset(role.name for role in user.roles)
        self._session_id = f"{user.id}:{fingerprint}"

    def get_id(self) -> str:
        return self._session_id

    def has_role(self, name: str) -> bool:
        return name in self.roles

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


def account_scope() -> int | None:
    """The account whose things the signed-in user may see; None means all (admins)."""
    return scope_of(current_user)


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Length(max=255)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class LogoutForm(FlaskForm):
    """No fields: the CSRF token, so another site cannot sign a user out."""


def init_login(app: Flask) -> None:
    login_manager.login_view = "dashboard.login"
    login_manager.login_message = "Sign in to see the dashboard."
    login_manager.init_app(app)

    @app.context_processor
    def logout_form() -> dict:
        return {"logout_form": LogoutForm}


@login_manager.user_loader
def load_user(session_id: str) -> SignedInUser | None:
    user_id, _, fingerprint = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = Session().get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(_fingerprint(user.password_hash), fingerprint):
        return None  # the password changed since this session signed in
    return SignedInUser(user, fingerprint)


@dashboard.route("/login", methods=["GET", "POST"])
# The app's one rate limiter (set up with the API): password guessing through this form
# counts per address against BVP_LOGIN_RATE_LIMIT, as on the API's token route.
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=get_remote_address, methods=["POST"]
)
def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("dashboard.sensors"))
    status = 200
    if form.validate_on_submit():
        user = _user_with_password(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session (and CSRF token) for the signed-in user
            login_user(SignedInUser(user, _fingerprint(user.password_hash)))
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, title="Sign in"), status


@dashboard.post("/logout")
def logout():
    # The CSRF token was checked for every dashboard POST (security.protect_forms).
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("dashboard.login"))


def _user_with_password(email: str, password: str) -> User | None:
    return authenticate_password(Session(), email, password)


def _fingerprint(password_hash: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _safe_next(target: str | None) -> str:
    """Back to the dashboard page (or the job queues' page) that asked for a sign-in;
    never to another site, nor to signing in or out again."""
    if target and "\\" not in target and not any(ord(c) < 32 for c in target):
        parts = urlsplit(target)
        page = parts.path.removeprefix(URL_PREFIX + "/")
        if (
            not parts.scheme
            and not parts.netloc
            and parts.path.startswith((URL_PREFIX + "/", "/rq/"))
            and page not in ("login", "logout")
        ):
            return target
    return url_for("dashboard.sensors")


# Every dashboard page needs a signed-in user, except these.
PUBLIC_ENDPOINTS = {"dashboard.login", "dashboard.static", "dashboard.plotly_js"}


@dashboard.before_request
def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return login_manager.unauthorized()
