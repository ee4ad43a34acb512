"""flask embedded ...: the development servers kept under BVP_EMBEDDED_DIR."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from bvp.embedded import data_dir, stop

embedded = AppGroup("embedded", help="Embedded PostgreSQL and Redis (development).")


@embedded.command("status")
def status() -> None:
    """Where the database and Redis are, to point psql, redis-cli or rq-dashboard at them."""
    origins = current_app.config["BVP_SETTING_ORIGINS"]
    for name, label in (("DATABASE_URL", "database"), ("REDIS_URL", "redis")):
        how = "embedded" if origins.get(name) == "embedded" else "configured, not embedded"
        click.echo(f"{label:<9} {current_app.config[name]}   ({how})")
    click.echo(f"psql      psql '{current_app.config['DATABASE_URL']}'")
    click.echo(f"redis-cli {_redis_cli(current_app.config['REDIS_URL'])}")
    click.echo(f"data dir  {data_dir(current_app.config['EMBEDDED_DIR'])}")


def _redis_cli(url: str) -> str:
    """The redis-cli command for ``url``: it takes a unix socket as -s, not as a URL."""
    from redis.connection import parse_url

    parts = parse_url(url)
    if "path" in parts:
        return f"redis-cli -s {parts['path']} -n {parts.get('db', 0)}"
    return f"redis-cli -u {url}"


@embedded.command("stop")
def stop_servers() -> None:
    """Stop the embedded servers (their data stays; the next command starts them again)."""
    stopped = stop(data_dir(current_app.config["EMBEDDED_DIR"]))
    click.echo(f"stopped {', '.join(stopped)}" if stopped else "no embedded servers were running")
