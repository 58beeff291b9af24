"""The device cookie: which attendee this browser is, per event.

Kept apart from the organiser's login session, so signing out of one never signs out of
the other. It maps event id → return code; the database stores only the code's hash, so a
renewed code signs out every device that held the old one.
"""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from .. import checkin
from ..errors import ReturnCodeInvalid
from ..extensions import db
from ..models import Attendee, Event

COOKIE = "em_device"
MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days
MAX_EVENTS = 20  # keep the cookie small; the oldest events drop off first


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="eventmate-device")


def codes() -> dict[str, str]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return {}
    return value if isinstance(value, dict) else {}


def attendee_for(event: Event) -> tuple[Attendee | None, str | None]:
    """The attendee this device is at `event`, with their return code, or (None, None)."""
    code = codes().get(str(event.id))
    if not code:
        return None, None
    try:
        return checkin.attendee_by_code(db.session, code, event_id=event.id), code
    except ReturnCodeInvalid:
        return None, None


def remember(response, event_id: int, code: str):
    """Add (or replace) this device's code for an event."""
    current = codes()
    current.pop(str(event_id), None)
    current[str(event_id)] = code
    while len(current) > MAX_EVENTS:
        current.pop(next(iter(current)))
    response.set_cookie(
        COOKIE,
        _serializer().dumps(current),
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response
