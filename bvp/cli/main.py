"""The `bvp` command: every `flask` command of BVP, from any directory, without FLASK_APP.

``bvp db upgrade``, ``bvp run_forecasting_worker``, ``bvp forecasts show`` ... are
``flask --app bvp.app:create_app ...``; settings come from the environment and a .env
file as for ``flask`` (README, Configuration).
"""

from __future__ import annotations

from flask.cli import FlaskGroup


def main(argv: list[str] | None = None) -> None:
    from bvp.app import create_app

    group = FlaskGroup(
        name="bvp",
        help="BVP's commands (the same as `flask --app bvp.app:create_app ...`).",
        create_app=lambda: create_app(),
    )
    # the app is BVP's: flask's --app option would only confuse
    group.params = [param for param in group.params if param.name != "app"]
    group.main(args=argv, prog_name="bvp")


if __name__ == "__main__":
    main()
