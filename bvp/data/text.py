"""Text PostgreSQL can store: any Unicode but the NUL character, which PostgreSQL's text
types refuse (psycopg2 raises before sending it), and lone surrogates (halves of a
UTF-16 pair, which are no characters and cannot be encoded as UTF-8). Input is checked
for them where it arrives, so that they are refused as bad input, naming where they
were, and never reach a query as a bug."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

NUL = "\x00"
NUL_REASON = "Contains a NUL character (\\u0000), which cannot be stored."
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_REASON = "Contains a lone surrogate (\\ud800-\\udfff), which is no character."


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if NUL in text:
        return NUL_REASON
    if LONE_SURROGATE.search(text):
        return SURROGATE_REASON
    return None


def unstorable_at(value: Any, path: str = "") -> tuple[str, str] | None:
    """Where and why the first string of a decoded JSON document cannot be stored:
    ``name``, ``values[3]``, ``attributes.note`` (``_body`` for a bare string); None if
    every string can. A bad object key is found at that key."""
    if isinstance(value, str):
        reason = unstorable(value)
        return (path or "_body", reason) if reason else None
    if isinstance(value, dict):
        return _first_of(value.items(), path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _first_of(pairs: Iterable[tuple[Any, Any]], path: str) -> tuple[str, str] | None:
    for key, item in pairs:
        child = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and (reason := unstorable(key)):
            return child, reason
        found = unstorable_at(item, child)
        if found is not None:
            return found
    return None


def unstorable_in_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The first key (and why) of ``(key, value)`` pairs (a query string, a form) whose
    value cannot be stored."""
    return _first_of(pairs, "")
