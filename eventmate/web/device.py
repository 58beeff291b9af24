"""The device cookie: which attendee this browser is, per event, and which device it is.

Kept apart from the organiser's login session, so signing out of one never signs out of
the other. It maps event id → return code (the database stores only the code's hash, so a
renewed code signs out every device that held the old one) and, under "_d", the device's
credential. Cookies from before devices existed have no "_d": they keep working, and get a
device the first time one is needed (`device_for_request`).
"""

from __future__ import annotations

import re
import secrets

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import OperationalError

from .. import checkin, devices
from ..errors import ReturnCodeInvalid
from ..extensions import db
from ..models import Attendee, Device, Event

COOKIE = "em_device"
#: The check-in form cookie: a random value, never stored on the server, that check-in form
#: tokens are bound to (and the key to a check-in's sealed answer is made with).
FORM_COOKIE = "em_form"
FORM_MAX_AGE = 24 * 3600  # a form left open for the evening still works
FORM_BINDING_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days
MAX_EVENTS = 20  # keep the cookie small; the oldest events drop off first
DEVICE_KEY = "_d"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="eventmate-device")


def _cookie() -> dict:
    """The request's device cookie, verified once per request (pages ask for it often)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    cached = g.get("_device_cookie_read")
    if cached is not None and cached[0] == raw:
        return cached[1]
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        value = {}
    value = value if isinstance(value, dict) else {}
    g._device_cookie_read = (raw, value)
    return value


def codes() -> dict[str, str]:
    """Event id → return code, for every event this device checked in to."""
    return {k: v for k, v in _cookie().items() if k.isascii() and k.isdigit() and isinstance(v, str)}


def credential() -> str | None:
    value = _cookie().get(DEVICE_KEY)
    return value if isinstance(value, str) and value else None


def attendee_for(event: Event) -> tuple[Attendee | None, str | None]:
    """The attendee this device is at `event`, with their return code, or (None, None).
    A renewed code, or this device signed out, opens nothing."""
    code = codes().get(str(event.id))
    if not code:
        return None, None
    try:
        return checkin.signed_in_attendee(db.session, code, event.id, credential()), code
    except ReturnCodeInvalid:
        return None, None


def _held_attendees() -> list[Attendee]:
    """The attendees a cookie from before devices existed still opens."""
    held = []
    for event_id, code in codes().items():
        try:
            held.append(checkin.signed_in_attendee(db.session, code, int(event_id), None))
        except ReturnCodeInvalid:
            continue
    return held


def form_binding() -> str | None:
    """The random value of this browser's check-in form cookie, if it has a well-formed one.
    A check-in form token is signed together with it, so only this browser can submit it."""
    value = request.cookies.get(FORM_COOKIE, "")
    return value if FORM_BINDING_RE.match(value) else None


def bind_form(response, binding: str):
    """Give the browser its form cookie (the same value again when it has one: every open
    check-in tab stays valid)."""
    response.set_cookie(
        FORM_COOKIE,
        binding,
        max_age=FORM_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=_secure(),
    )
    return response


def new_form_binding() -> str:
    return secrets.token_urlsafe(32)


def new_device_label() -> str | None:
    """The label for a device made together with a check-in, when this browser holds nothing
    yet (no device, no event); None otherwise (`remember` then attaches)."""
    if credential() is None and not codes():
        return devices.describe(request.user_agent.string)
    return None


def remember(response, attendee: Attendee, code: str, new_credential: str | None = None,
             made: bool = False):
    """Add (or replace) this device's code for an event, and record the device as holding
    that attendee. A cookie without a device gets one, holding all its events. `made`: the
    device `new_credential` names was made holding the attendee already (a new phone's
    check-in)."""
    cred = credential()
    if made:
        cred = new_credential
    else:
        others = [] if cred else _held_attendees()
        cred = cred or new_credential or secrets.token_urlsafe(32)
        devices.attach(db.session, cred, [*others, attendee],
                       label=devices.describe(request.user_agent.string))
    values = codes()
    values.pop(str(attendee.event_id), None)
    values[str(attendee.event_id)] = code
    while len(values) > MAX_EVENTS:
        values.pop(next(iter(values)))
    return _set(response, {**values, DEVICE_KEY: cred})


def seen() -> None:
    """Note that this phone is in use (at most hourly). Best effort: a page never fails on it.

    A cookie from before devices existed gets its device here, so it shows in the device
    list and can be signed out (the page then passes through `save_cookie`)."""
    if credential() is None:
        db.session.commit()
        try:
            device_for_request()
        except OperationalError:
            db.session.rollback()
        return
    seen_at = g.get("device_seen_at")  # read with the page's attendee (`people.event_and_reader`)
    if seen_at is not None and not devices.due_for_touch(seen_at):
        return
    found = devices.find(db.session, credential())
    if found is None:
        return
    db.session.commit()  # end the page's read first: the write then starts a fresh transaction
    try:
        devices.touch(db.session, found)
    except OperationalError:  # the database is busy or read-only: try again next visit
        db.session.rollback()


def device_for_request() -> Device | None:
    """This browser's device row, made now for a cookie from before devices existed.
    None when the browser holds no attendee at all."""
    if "device" in g:
        return g.device
    cred = credential()
    if cred:  # a device signed out of everything is gone, and stays gone
        found = devices.find(db.session, cred)
    else:
        found = None
        held = _held_attendees()
        if held:
            cred = secrets.token_urlsafe(32)
            found = devices.attach(db.session, cred, held, label=devices.describe(request.user_agent.string))
            g.device_cookie = {**codes(), DEVICE_KEY: cred}
    g.device = found
    return found


def forget(response, event_id: int):
    """This browser no longer holds its attendee at this event (signed out, or deleted)."""
    values = {**codes(), **({DEVICE_KEY: credential()} if credential() else {})}
    values.pop(str(event_id), None)
    return _set(response, values)


def save_cookie(response):
    """After `device_for_request` made a device, the browser keeps its credential."""
    if "device_cookie" in g:
        _set(response, g.device_cookie)
    return response


def _set(response, value: dict):
    response.set_cookie(
        COOKIE,
        _serializer().dumps(value),
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=_secure(),
    )
    return response


def _secure() -> bool:
    """Secure whenever the session cookie is (see security.SessionInterface)."""
    return request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE"))
