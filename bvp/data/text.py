"""Text PostgreSQL can store: any Unicode but the NUL character, which PostgreSQL's text
types refuse (psycopg2 raises before sending it). Input is checked for it where it
arrives, so that it is refused as bad input, naming where it was, and never reaches a
query as a bug."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NUL = "\x00"
NUL_REASON = "Contains a NUL character (\\u0000), which cannot be stored."


def nul_at(value: Any, path: str = "") -> str | None:
    """The path of the first string holding a NUL in a decoded JSON document:
    ``name``, ``values[3]``, ``attributes.note`` (``_body`` for a bare string); None if
    there is none. A NUL in an object's key is found at that key."""
    if isinstance(value, str):
        return path or "_body" if NUL in value else None
    if isinstance(value, dict):
        return _first_of(value.items(), path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _first_of(pairs: Iterable[tuple[Any, Any]], path: str) -> str | None:
    for key, item in pairs:
        child = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and NUL in key:
            return child
        found = nul_at(item, child)
        if found is not None:
            return found
    return None


def nul_in_pairs(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first key of ``(key, value)`` pairs (a query string, a form) holding a NUL."""
    return _first_of(pairs, "")
