"""Every request's text is storable: a NUL character or a lone surrogate anywhere in a
query string, a form, a JSON body, a path segment or the Authorization header is a 422
naming where, before any route runs (routes and the dashboard alike), so it never
reaches PostgreSQL as a 500. werkzeug decodes query strings and forms with replacement,
so lone surrogates come only in JSON (as escapes), which orjson would refuse as a whole:
they are found, and named, with the standard library's parser.
"""

from __future__ import annotations

import json
import re

from flask import request
from werkzeug.exceptions import UnprocessableEntity

from bvp.data.text import unstorable_at, unstorable_in_pairs

# How JSON writes a NUL or half of a surrogate pair (raw NUL bytes are malformed JSON);
# a proper pair (an emoji) also matches, and is found to be fine.
_JSON_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def refuse_unstorable_text() -> None:
    found = (
        unstorable_in_pairs((request.view_args or {}).items())
        or unstorable_in_pairs(request.args.items(multi=True))
        or _unstorable_in_body()
        or unstorable_in_pairs([("Authorization", request.headers.get("Authorization", ""))])
    )
    if found is not None:
        where, reason = found
        error = UnprocessableEntity(f"{where}: {reason}")
        error.data = {"message": "The request's input is not valid.", "errors": {where: [reason]}}
        raise error


def _unstorable_in_body() -> tuple[str, str] | None:
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return unstorable_in_pairs(request.form.items(multi=True))
    if not request.is_json:
        return None
    body = request.get_data(cache=True)
    if not _JSON_ESCAPES.search(body):
        return None  # the usual case: no parse spent on the check
    try:
        # the standard library's parser, which (unlike orjson) reads lone surrogates
        return unstorable_at(json.loads(body))
    except (ValueError, RecursionError):
        return None  # malformed: the route's parser says so (a 400)
