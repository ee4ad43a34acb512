"""Every request's text is storable: a NUL character anywhere in a query string, a form,
a JSON body, a path segment or the Authorization header is a 422 naming where, before
any route runs (routes and the dashboard alike), so it never reaches PostgreSQL as a 500.

Lone surrogates need no check here: orjson refuses them in a JSON body (a 400, like any
malformed body) and werkzeug decodes query strings and forms with replacement.
"""

from __future__ import annotations

import orjson
from flask import request
from werkzeug.exceptions import UnprocessableEntity

from bvp.data.text import NUL, NUL_REASON, nul_at, nul_in_pairs

_JSON_NUL = b"\\u0000"  # how JSON writes it (a raw NUL byte is malformed JSON)


def refuse_unstorable_text() -> None:
    where = (
        nul_in_pairs((request.view_args or {}).items())
        or nul_in_pairs(request.args.items(multi=True))
        or _nul_in_body()
        or ("Authorization" if NUL in request.headers.get("Authorization", "") else None)
    )
    if where is not None:
        error = UnprocessableEntity(f"{where}: {NUL_REASON}")
        error.data = {
            "message": "The request's input is not valid.",
            "errors": {where: [NUL_REASON]},
        }
        raise error


def _nul_in_body() -> str | None:
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return nul_in_pairs(request.form.items(multi=True))
    if not request.is_json:
        return None
    body = request.get_data(cache=True)
    if _JSON_NUL not in body:
        return None  # the usual case: no parse spent on the check
    try:
        return nul_at(orjson.loads(body))
    except orjson.JSONDecodeError:
        return None  # malformed: the route's parser says so (a 400)
