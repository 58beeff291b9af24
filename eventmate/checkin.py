"""Check-in: from a poster scan to an identified attendee, without a password."""

from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock, tokens
from .errors import CheckInClosed, CheckInKeyInvalid, NotFound, ReturnCodeInvalid, ValidationFailed
from .models import Attendee, Event
from .validation import Fields

log = logging.getLogger("eventmate.actions")

RETURN_CODE_LENGTH = 16  # 80 bits, shown as XXXX-XXXX-XXXX-XXXX
PICKME_LENGTH = 16
FORM_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}[A-Za-z0-9_-]{21}$")

#: The check-in form: (field, label for messages, max length, required)
PROFILE_FIELDS = (
    ("name", "your name", 80, True),
    ("what_i_do", "what you do", 140, True),
    ("how_i_help", "how you can help others", 280, True),
    ("looking_for", "the introduction you're looking for", 280, True),
    ("contact", "the contact details you want to share", 280, False),
)


def find_event(session, slug: str) -> Event | None:
    return session.scalar(sa.select(Event).where(Event.slug == (slug or "").lower()))


def event_by_slug(session, slug: str) -> Event:
    event = find_event(session, slug)
    if event is None:
        raise NotFound()
    return event


def events_by_ids(session, ids) -> list[Event]:
    """Events by id, newest first (ids that are not numbers are ignored)."""
    numbers = [int(i) for i in ids if str(i).isascii() and str(i).isdigit()]
    if not numbers:
        return []
    query = sa.select(Event).where(Event.id.in_(numbers)).order_by(Event.starts_at.desc())
    return list(session.scalars(query))


def open_checkin(session, slug: str, key: str) -> Event:
    """The event behind a poster URL, if its key is current and check-in is open."""
    event = session.scalar(sa.select(Event).where(Event.slug == (slug or "").lower()))
    if event is None:
        raise CheckInKeyInvalid()
    if not hmac.compare_digest(event.checkin_key.encode(), (key or "").lower().encode()):
        error = CheckInKeyInvalid()
        error.event = event
        raise error
    if not event.is_checkin_open(clock.now()):
        error = CheckInClosed()
        error.event = event
        raise error
    return event


def read_profile(data: dict) -> dict:
    fields = Fields(data)
    for name, label, max_len, required in PROFILE_FIELDS:
        fields.text(name, label, max_len=max_len, required=required, multiline=name == "contact")
    fields.email("email", required=False)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    values = {name: fields.values.get(name) for name, *_ in PROFILE_FIELDS}
    values["email"] = fields.values.get("email")
    return values


def _form_signature(secret: str, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"checkin-form:{nonce}".encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:21]


def new_form_token(secret: str) -> str:
    """A one-time token for a check-in form: a random nonce and our signature of it, so a
    client cannot make up its own (the per-form rate limit is keyed on it)."""
    nonce = secrets.token_urlsafe(16)[:22]
    return nonce + _form_signature(secret, nonce)


def form_token_is_valid(secret: str, token: str) -> bool:
    if not FORM_TOKEN_RE.match(token or ""):
        return False
    return hmac.compare_digest(token[22:], _form_signature(secret, token[:22]))


def return_code_for(secret: str, form_token: str) -> str:
    """The return code a check-in form yields: derived, so a double submit gets the same one."""
    return tokens.derived_code(secret, f"return-code:{form_token}", RETURN_CODE_LENGTH)


def check_in(session, event: Event, data: dict, form_token: str, secret: str) -> tuple[Attendee, str]:
    """Check a walk-in attendee in; returns the attendee and their return code.

    `form_token` is the one-time token of the form. Submitting the same form twice (a double
    tap, a retry on bad wifi, two requests racing) lands on the same attendee: the token is
    unique in the database and the return code is derived from it.
    """
    if not form_token_is_valid(secret, form_token):
        raise ValidationFailed({"form": "This form has expired. Please scan the poster again."})
    if not event.is_checkin_open(clock.now()):
        raise CheckInClosed()
    values = read_profile(data)
    code = return_code_for(secret, form_token)
    attendee = Attendee(
        event_id=event.id,
        checked_in_at=clock.now(),
        checkin_token=form_token,
        return_code_hash=tokens.digest(code),
        pickme_token=tokens.random_code(PICKME_LENGTH).lower(),
        **values,
    )
    attendee.refresh_search_text()
    session.add(attendee)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(sa.select(Attendee).where(Attendee.checkin_token == form_token))
        if existing is not None and existing.event_id != event.id:
            # A form from another event's poster: it can't check anyone in here.
            raise ValidationFailed({"form": "This form has expired. Please scan the poster again."}) from None
        if existing is None:
            raise
        return existing, code
    log.info("checked in: event=%s attendee=%s", event.id, attendee.id)
    return attendee, code


def attendee_by_code(session, code: str, event_id: int | None = None) -> Attendee:
    """The attendee a return code belongs to (optionally only within one event)."""
    code = tokens.normalise_code(code or "")
    if len(code) != RETURN_CODE_LENGTH:
        raise ReturnCodeInvalid()
    # By the unique hash alone (the event is checked after): a planner without statistics
    # must not pick the event index and scan a whole room on every page view.
    attendee = session.scalar(sa.select(Attendee).where(Attendee.return_code_hash == tokens.digest(code)))
    if attendee is None or (event_id is not None and attendee.event_id != event_id):
        raise ReturnCodeInvalid()
    return attendee


def new_return_code(session, attendee: Attendee) -> str:
    """Replace the attendee's return code; devices holding the old one lose access."""
    code = tokens.random_code(RETURN_CODE_LENGTH)
    attendee.return_code_hash = tokens.digest(code)
    session.commit()
    log.info("return code renewed: attendee=%s", attendee.id)
    return code


def leave(session, attendee: Attendee) -> None:
    """Leave the event: gone from who's here; my three and my notes stay mine."""
    if attendee.left_at is None:
        attendee.left_at = clock.now()
        session.commit()
        log.info("left: event=%s attendee=%s", attendee.event_id, attendee.id)


def rejoin(session, attendee: Attendee) -> None:
    if attendee.left_at is not None:
        attendee.left_at = None
        session.commit()
        log.info("rejoined: event=%s attendee=%s", attendee.event_id, attendee.id)
