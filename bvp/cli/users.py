"""flask accounts ... / flask users ...: manage accounts and users from a console."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from bvp.data.models import ROLE_NAMES, Account
from bvp.data.models.accounts import (
    accounts_in_scope,
    create_user,
    find_account_by_name,
    find_user_by_email,
    users_in_scope,
)
from bvp.data.models.api_clients import create_client
from bvp.data.models.auth_tokens import revoke_all_tokens
from bvp.data.transactional import transactional

accounts = AppGroup("accounts", help="Accounts.")
users = AppGroup("users", help="Users.")


@accounts.command("create")
@click.option("--name", required=True)
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone for reports.")
def create_account(name: str, timezone: str) -> None:
    """Create an account."""
    try:
        with transactional() as session:
            account = Account(name=name, timezone=timezone)
            session.add(account)
            session.flush()
            click.echo(f"created account {account.id} {account.name!r} ({timezone})")
    except IntegrityError:
        raise click.ClickException(f"An account named {name!r} exists already.") from None


@accounts.command("list")
def list_accounts() -> None:
    with transactional() as session:
        for account in session.scalars(accounts_in_scope(None)):
            click.echo(f"{account.id:>5}  {account.name}  ({account.timezone})")


@users.command("create")
@click.option("--email", required=True)
@click.option("--account", "account_name", required=True, help="Name of the user's account.")
@click.option(
    "--role", "roles", multiple=True, type=click.Choice(list(ROLE_NAMES)), default=["user"]
)
@click.password_option(help="Prompted (twice) if not given.")
def create_user_command(email: str, account_name: str, roles: tuple[str, ...], password: str):
    """Create a user in an account."""
    try:
        with transactional() as session:
            account = find_account_by_name(session, account_name)
            if account is None:
                raise click.ClickException(f"There is no account named {account_name!r}.")
            user = create_user(session, email, password, account, list(roles))
            session.flush()
            click.echo(
                f"created user {user.id} {user.email} in {account.name} ({', '.join(roles)})"
            )
    except IntegrityError:
        raise click.ClickException(f"A user with email {email!r} exists already.") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None


@users.command("list")
def list_users() -> None:
    with transactional() as session:
        for user in session.scalars(users_in_scope(None)):
            roles = ", ".join(sorted(r.name for r in user.roles))
            state = "" if user.active else "  [inactive]"
            click.echo(f"{user.id:>5}  {user.email}  {user.account.name}  ({roles}){state}")


@users.command("deactivate")
@click.option("--email", required=True)
def deactivate_user(email: str) -> None:
    """Lock a user out: inactive, and every token revoked."""
    with transactional() as session:
        user = find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"There is no user {email!r}.")
        user.active = False
        revoked = revoke_all_tokens(session, user)
        click.echo(f"deactivated {user.email}; {revoked} tokens revoked")


@users.command("add-client")
@click.option("--email", required=True, help="The user the client acts as.")
@click.option("--name", default="", help="What the client is, e.g. 'meter gateway 7'.")
def add_client(email: str, name: str) -> None:
    """Hawk credentials for a machine client; the key is printed once, store it now."""
    with transactional() as session:
        user = find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"There is no user {email!r}.")
        client, key = create_client(session, user, name, current_app.config["SECRET_KEY"])
        click.echo(f"Hawk id:  {client.client_id}\nHawk key: {key}")
