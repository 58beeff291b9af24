"""Errors become friendly pages, or `{"error": code, "message": ...}` on JSON routes."""

from __future__ import annotations

import logging
import time

from flask import jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..database import FULL, READ_ONLY, write_failure
from ..errors import DomainError
from ..extensions import db, limiter

log = logging.getLogger("eventmate")

MESSAGES = {
    400: ("bad_request", "That request didn't make sense to us."),
    403: ("forbidden", "You can't do that here."),
    404: ("not_found", "We couldn't find that page. It may have moved, or the link is incomplete."),
    405: ("method_not_allowed", "That page doesn't work that way."),
    413: ("too_large", "That was more than we can take in one go. Please send something shorter."),
    429: ("rate_limited", "That's a lot of tries in a short time. Please wait a minute and try again."),
    500: ("server_error", "Something went wrong on our side. Please try again in a moment."),
}


#: A write the database refused for good: retrying in a moment will not help, so say plainly
#: that nothing was saved and what to do.
NOT_SAVED = {
    READ_ONLY: "We couldn't save what you just sent: our database can only be read right now, "
               "so nothing you sent was saved. Trying again won't help until that is fixed.",
    FULL: "We couldn't save what you just sent: our server has run out of storage space, "
          "so nothing you sent was saved. Trying again won't help until that is fixed.",
}
NOT_SAVED_ADVICE = ("Keep a copy of what you typed (it is below, and your browser's Back button "
                    "should still have it) and let the organiser know.")
#: Form fields never shown back: secrets and the page's own tokens.
_NOT_ECHOED = ("csrf_token", "form_token", "password", "token")


def typed_fields() -> list[tuple[str, str]]:
    """What the person typed into the form they sent, so it is not lost with the write."""
    typed = []
    for name, value in request.form.items(multi=True):
        if value.strip() and not any(word in name.lower() for word in _NOT_ECHOED):
            typed.append((name.replace("_", " ").capitalize(), value))
    return typed


def _not_saved(problem: str):
    message = NOT_SAVED[problem]
    if wants_json():
        return jsonify(error="not_saved", message=f"{message} {NOT_SAVED_ADVICE}", database=problem), 503
    return render_template("errors/not_saved.html", message=message, advice=NOT_SAVED_ADVICE,
                           typed=typed_fields()), 503


def _rate_limited_message() -> str:
    """Say when trying again will work: the breached limit knows when its window ends."""
    limit = limiter.current_limit
    seconds = limit.reset_at - time.time() if limit is not None and limit.breached else 0
    minutes = round(seconds / 60)
    if minutes <= 1:
        return MESSAGES[429][1]
    wait = f"about {minutes} minutes" if minutes < 90 else f"about {round(minutes / 60)} hours"
    return f"That's a lot of tries in a short time. Please take a break and try again in {wait}."


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, code: str, message: str):
    if wants_json():
        return jsonify(error=code, message=message), status
    return render_template("errors/error.html", status=status, message=message), status


def csrf_refused():
    """A form whose CSRF token no longer matches the session (cookies cleared, say)."""
    return error_response(
        400,
        "csrf_failed",
        "We couldn't accept that form: your cookies may have been cleared since the page "
        "opened. Go back and send it again — your text should still be there.",
    )


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return csrf_refused()

    @app.errorhandler(DomainError)
    def _domain(error):
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(error):
        return error_response(429, MESSAGES[429][0], _rate_limited_message())

    @app.errorhandler(HTTPException)
    def _http(error):
        code, message = MESSAGES.get(error.code, (error.name.lower().replace(" ", "_"), error.description))
        return error_response(error.code, code, message)

    @app.errorhandler(DBAPIError)
    def _database(error):
        db.session.rollback()
        problem = write_failure(error)
        if problem is None:
            return _unexpected(error)
        log.error("write refused (%s) on %s %s: %s", problem, request.method, request.path, error.orig)
        return _not_saved(problem)

    @app.errorhandler(Exception)
    def _unexpected(error):
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, message = MESSAGES[500]
        return error_response(500, code, message)
