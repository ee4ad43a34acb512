"""One JSON shape for every error: {"status", "message", "errors": {field path: [reasons]}}.

Bad input is a 4xx naming the field (and the index of a bad value, as ``values[3]``);
only a bug is a 500, and its body gives nothing away.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from flask_smorest import abort
from marshmallow import Schema, fields
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, InternalServerError

from bvp.data.belief_export import CursorError
from bvp.data.belief_input import BeliefsError
from bvp.data.resampling import ResolutionError
from bvp.data.units import UnitError
from bvp.data.utc import NaiveDatetimeError
from bvp.ingestion.upload import UploadError

log = logging.getLogger(__name__)


class ErrorSchema(Schema):
    status = fields.Integer(metadata={"description": "HTTP status code", "example": 422})
    message = fields.String(metadata={"example": "The request's input is not valid."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Reasons per field path; list items by index, e.g. values[3].",
            "example": {"values[3]": ["Not a valid number."]},
        },
    )


NOT_FOUND = "Not found (or not in your account)."
FORBIDDEN = "Your role does not allow this."


def errors_documented(blueprint, errors: dict[int, str]):
    """Decorator: list these error statuses, with the error body, in the OpenAPI document."""

    def decorate(view):
        for status, description in errors.items():
            view = blueprint.alt_response(status, schema=ErrorSchema, description=description)(view)
        return view

    return decorate


def error_response(status: int, message: str, errors: dict[str, list[str]] | None = None):
    body = {"status": status, "message": message, "errors": errors or {}}
    return jsonify(body), status


def flatten_messages(messages: Any, path: str = "") -> dict[str, list[str]]:
    """webargs' nested {"json": {"values": {3: [...]}}} -> {"values[3]": [...]}."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {path or "_body": messages}
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not path and key in (
                "json",
                "query",
                "form",
                "files",
                "multipart",
                "headers",
                "view_args",
            ):
                child = ""
            elif isinstance(key, int) or str(key).isdigit():
                child = f"{path}[{key}]"
            elif key == "_schema":
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            for child_path, reasons in flatten_messages(value, child).items():
                flat.setdefault(child_path, []).extend(reasons)
    else:
        flat[path or "_body"] = [str(messages)]
    return flat


def http_error_body(error: HTTPException) -> tuple[int, str, dict[str, list[str]]]:
    data = getattr(error, "data", None) or {}
    errors = flatten_messages(data["messages"]) if "messages" in data else {}
    errors = data.get("errors", errors)
    message = data.get("message") or error.description or error.name
    if error.code == 422 and errors and message == error.description:
        message = "The request's input is not valid."
    return error.code or 500, message, errors


def flush_or_conflict(session: Session, field: str, message: str) -> None:
    """Flush; a unique constraint violated by the input is a 409 naming ``field``."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        abort(409, message=message, errors={field: ["Already taken."]})


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        body, status = error_response(*http_error_body(error))
        # The exception's own headers stay: Allow on a 405, WWW-Authenticate on a 401.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(CursorError)
    @app.errorhandler(NaiveDatetimeError)
    @app.errorhandler(BeliefsError)
    @app.errorhandler(UnitError)
    @app.errorhandler(ResolutionError)
    @app.errorhandler(UploadError)
    def handle_input_error(error: ValueError):
        field = getattr(error, "field", None) or "_body"
        index = getattr(error, "index", None)
        path = f"{field}[{index}]" if index is not None else field
        reason = str(error).split(": ", 1)[-1] if str(error).startswith(path) else str(error)
        return error_response(422, "The request's input is not valid.", {path: [reason]})

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError):
        # PostgreSQL down, restarting or unreachable: not a bug, and nothing was stored
        # (the request's transaction rolled back). The pool reconnects once it is back.
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        log.warning("database unavailable: %s", reason)
        body, status = error_response(503, "The database is unavailable; try again shortly.")
        return body, status, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    def handle_bug(error: Exception):
        if isinstance(error, HTTPException):
            return handle_http_error(error)
        log.exception("unhandled error")
        return error_response(500, InternalServerError.description)
