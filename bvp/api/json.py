"""orjson for request and response bodies: 35k floats parse in ~1 ms instead of ~11 ms.

orjson refuses NaN and Infinity literals (not JSON), so they are a 400 like any other
malformed body.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)


class OrjsonParser(FlaskParser):
    def _raw_load_json(self, req) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            # Not webargs' handling: it takes an error whose `doc` is empty for an empty
            # body, and orjson leaves `doc` empty for bytes that are not UTF-8, so such
            # a body passed as no body at all (and e.g. created an API client).
            return self._handle_invalid_json_error(error, req)


# Set before any route module is imported: @blueprint.arguments binds the parser then.
Blueprint.ARGUMENTS_PARSER = OrjsonParser()
