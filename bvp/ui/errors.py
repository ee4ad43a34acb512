"""Errors on dashboard pages are pages too (the API's errors stay JSON)."""

from __future__ import annotations

import logging

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from bvp.ui import dashboard

log = logging.getLogger(__name__)


@dashboard.errorhandler(CSRFError)
def form_expired(error: CSRFError):
    message = (
        "The form was not sent from this site, or it is too old. Reload the page and try again."
    )
    return _error_page(400, "Form expired", message)


@dashboard.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return _error_page(error.code or 500, error.name, error.description or "")


@dashboard.errorhandler(Exception)
def bug(error: Exception):
    if isinstance(error, HTTPException):
        return http_error(error)
    log.exception("unhandled error on a dashboard page")
    return _error_page(500, "Something went wrong", InternalServerError.description)


def _error_page(status: int, title: str, message: str):
    return render_template("error.html", title=title, status=status, message=message), status
