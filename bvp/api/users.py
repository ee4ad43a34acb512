"""/api/v1/accounts and /api/v1/users: managed by admins and account admins.

Admins manage every account and user; account admins manage the users of their own
account and cannot make anyone an admin; everyone can read their own user and account.
"""

from __future__ import annotations

from flask_smorest import Blueprint, abort

from bvp.api.auth import (
    ADMIN,
    MANAGE_ROLES,
    account_scope,
    authenticate,
    current_user,
    not_found,
    require_role,
)
from bvp.api.errors import FORBIDDEN, NOT_FOUND, errors_documented, flush_or_conflict
from bvp.api.schemas import AccountSchema, UserSchema
from bvp.data.models import Account, User
from bvp.data.models.accounts import (
    accounts_in_scope,
    create_user,
    roles_named,
    users_in_scope,
)
from bvp.data.models.auth_tokens import revoke_all_tokens
from bvp.data.passwords import hash_password
from bvp.data.transactional import transactional

users = Blueprint("users", __name__, url_prefix="/api/v1", description="Accounts and users")
users.before_request(authenticate)


@users.get("/accounts")
@users.response(200, AccountSchema(many=True))
def list_accounts():
    """Your account (admins: all accounts)."""
    with transactional() as session:
        return list(session.scalars(accounts_in_scope(account_scope())))


@users.post("/accounts")
@users.arguments(AccountSchema)
@users.response(201, AccountSchema)
@errors_documented(users, {403: FORBIDDEN, 409: "An account with this name exists."})
def create_account(data):
    """Create an account (admins only)."""
    require_role({ADMIN}, "creating accounts")
    with transactional() as session:
        account = Account(**data)
        session.add(account)
        flush_or_conflict(session, "name", "An account with this name exists.")
        return account


@users.get("/accounts/<int:account_id>")
@users.response(200, AccountSchema)
@errors_documented(users, {404: NOT_FOUND})
def get_account(account_id: int):
    with transactional() as session:
        found = session.scalar(accounts_in_scope(account_scope()).where(Account.id == account_id))
        return found or not_found("account", account_id)


@users.get("/users")
@users.response(200, UserSchema(many=True))
def list_users():
    """Users of your account (admins: all users); others see only themselves."""
    with transactional() as session:
        if not any(current_user().has_role(r) for r in MANAGE_ROLES):
            return [session.get(User, current_user().id)]
        return list(session.scalars(users_in_scope(account_scope())))


@users.post("/users")
@users.arguments(UserSchema)
@users.response(201, UserSchema)
@errors_documented(users, {403: FORBIDDEN, 409: "A user with this email exists."})
def create_user_route(data):
    """Create a user in your account (admins: in any account, via account_id)."""
    require_role(MANAGE_ROLES, "creating users")
    _refuse_granting_admin(data.get("roles", []))
    with transactional() as session:
        account_id = data.get("account_id")
        if account_id is None or not current_user().has_role(ADMIN):
            account_id = current_user().account_id
        account = session.get(Account, account_id)
        if account is None:
            abort(422, message="Unknown account.", errors={"account_id": ["No such account."]})
        user = create_user(session, data["email"], data["password"], account, data["roles"])
        user.active = data["active"]
        flush_or_conflict(session, "email", "A user with this email exists.")
        return user


@users.get("/users/<int:user_id>")
@users.response(200, UserSchema)
@errors_documented(users, {404: NOT_FOUND})
def get_user(user_id: int):
    with transactional() as session:
        return _visible_user(session, user_id)


@users.patch("/users/<int:user_id>")
@users.arguments(UserSchema(partial=True, exclude=("account_id", "email")))
@users.response(200, UserSchema)
@errors_documented(users, {403: FORBIDDEN, 404: NOT_FOUND})
def update_user(data, user_id: int):
    """Change roles, active or password; either of the last two revokes their tokens.

    Users may change their own password; anything else needs an (account) admin, and
    only admins change admins.
    """
    with transactional() as session:
        user = _visible_user(session, user_id)
        if set(data) - {"password"} or user.id != current_user().id:
            require_role(MANAGE_ROLES, "changing users")
        if user.has_role(ADMIN) and not current_user().has_role(ADMIN):
            abort(403, message="Only admins change admins.")
        if "roles" in data:
            _refuse_granting_admin(data["roles"])
            user.roles = roles_named(session, data["roles"])
        if "password" in data:
            user.password_hash = hash_password(data["password"])
            revoke_all_tokens(session, user)  # sessions made with the old password end
        if "active" in data:
            user.active = data["active"]
            if not user.active:
                revoke_all_tokens(session, user)
        return user


def _visible_user(session, user_id: int) -> User:
    user = session.scalar(users_in_scope(account_scope()).where(User.id == user_id))
    if user is None:
        not_found("user", user_id)
    if user.id != current_user().id and not any(current_user().has_role(r) for r in MANAGE_ROLES):
        not_found("user", user_id)  # plain users and viewers know only themselves
    return user


def _refuse_granting_admin(role_names: list[str]) -> None:
    if ADMIN in role_names and not current_user().has_role(ADMIN):
        abort(403, message="Only admins make admins.", errors={"roles": ["admin not allowed"]})
