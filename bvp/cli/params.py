"""Click parameter types for what operators type: instants with their UTC offset, and
ISO 8601 durations. A bad value is a usage error naming the option (exit 2), never a
traceback, and a naive time is refused, never guessed."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from bvp.data.utc import to_utc


class AwareDatetime(click.ParamType):
    name = "ISO 8601 datetime with offset"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return to_utc(value)
        try:
            return to_utc(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class Duration(click.ParamType):
    name = "ISO 8601 duration"

    def convert(self, value, param, ctx) -> timedelta:
        from bvp.data.utc import parse_duration

        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


AWARE_DATETIME = AwareDatetime()
DURATION = Duration()
