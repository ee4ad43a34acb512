"""flask accounts / flask users."""

from sqlalchemy import select

from bvp.data.models import User
from bvp.data.passwords import verify_password


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_create_account_and_user_then_list_and_deactivate(app, db):
    assert "created account" in run(app, "accounts", "create", "--name", "grid co").output
    result = run(
        app,
        "users",
        "create",
        "--email",
        "Op@Grid.example",
        "--account",
        "grid co",
        "--role",
        "account-admin",
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User))
    assert user.email == "op@grid.example" and verify_password(user.password_hash, "s3cret-pass")
    assert "op@grid.example  grid co  (account-admin)" in run(app, "users", "list").output
    assert (
        "deactivated op@grid.example"
        in run(app, "users", "deactivate", "--email", "op@grid.example").output
    )
    db.expire_all()
    assert db.scalar(select(User)).active is False


def test_clear_errors_for_unknown_account_and_duplicates(app, db):
    missing = run(
        app, "users", "create", "--email", "a@b.example", "--account", "nope", "--password", "x" * 9
    )
    assert missing.exit_code == 1 and "no account named 'nope'" in missing.output
    run(app, "accounts", "create", "--name", "dup")
    again = run(app, "accounts", "create", "--name", "dup")
    assert again.exit_code == 1 and "exists already" in again.output


def test_add_client_prints_hawk_credentials_once(app, db):
    run(app, "accounts", "create", "--name", "grid co")
    run(
        app,
        "users",
        "create",
        "--email",
        "gw@grid.example",
        "--account",
        "grid co",
        "--password",
        "s3cret-pass",
    )
    result = run(app, "users", "add-client", "--email", "gw@grid.example", "--name", "gateway")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Hawk id:  bvp-") and lines[1].startswith("Hawk key: ")
