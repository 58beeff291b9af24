"""Check-in: from a poster scan to an identified attendee, without a password."""

from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError

from . import clock, devices, tokens
from .errors import CheckInClosed, CheckInKeyInvalid, NotFound, ReturnCodeInvalid, ValidationFailed
from .models import Attendee, Device, DeviceAttendee, Event, search_text_for
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


#: Statements on the busiest pages are built once: SQLAlchemy then skips building them and
#: working out their cache key on every request (0.2-0.6 ms each; see bench/README.md).
_EVENT_BY_SLUG = sa.select(Event).where(Event.slug == sa.bindparam("slug"))


def find_event(session, slug: str) -> Event | None:
    return session.scalar(_EVENT_BY_SLUG, {"slug": (slug or "").lower()})


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
    event = find_event(session, slug)
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
    values["contact_consent"] = data.get("contact_consent") == "yes"
    return values


#: What a form that can no longer be used says (from another phone, another event, a form
#: from before an upgrade, or one whose browser lost its form cookie). The page shows a
#: fresh form with what was typed.
FORM_EXPIRED = ("This form has expired or was opened on another phone, so nothing was saved. "
                "Please scan the poster again, or check your answers and tap Check in.")
#: A form rendered before the upgrade that bound forms to a browser, submitted once then
#: retried after it, still lands on its attendee within this long of the first submit.
LEGACY_RETRY_WINDOW = timedelta(minutes=10)


class FormExpired(ValidationFailed):
    """The form token can't be used by this browser: show a fresh form, never an identity."""

    def __init__(self):
        super().__init__({"form": FORM_EXPIRED})


def _signature(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:21]


def _form_signature(secret: str, nonce: str, binding: str) -> str:
    return _signature(secret, f"checkin-form:v2:{binding}:{nonce}")


def new_form_token(secret: str, binding: str = "") -> str:
    """A one-time token for a check-in form: a random nonce and our signature of it together
    with `binding`, the random value of the browser's form cookie. Only that browser can
    submit it, and a client cannot make up its own (the per-form rate limit is keyed on it).
    Callers inside the server (the demo, tests, benchmarks) bind to ""."""
    nonce = secrets.token_urlsafe(16)[:22]
    return nonce + _form_signature(secret, nonce, binding)


def form_token_is_valid(secret: str, token: str, binding: str | None = "") -> bool:
    if binding is None or not FORM_TOKEN_RE.match(token or ""):
        return False
    return hmac.compare_digest(token[22:], _form_signature(secret, token[:22], binding))


def _is_legacy_token(secret: str, token: str) -> bool:
    """A token signed before forms were bound to a browser."""
    if not FORM_TOKEN_RE.match(token or ""):
        return False
    return hmac.compare_digest(token[22:], _signature(secret, f"checkin-form:{token[:22]}"))


def _seal_key(secret: str, form_token: str, binding: str) -> bytes:
    """The key to a check-in's sealed answer: made from the form token and the browser's form
    cookie, neither of which the database holds (it keeps only the token's hash)."""
    return hmac.new(secret.encode(), f"checkin-seal:{binding}:{form_token}".encode(), "sha256").digest()


def _seal(key: bytes, code: str, device_credential: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, f"{code}:{device_credential}".encode(), b"checkin-seal")
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(key: bytes, seal: str | None) -> tuple[str, str] | None:
    if not seal:
        return None
    try:
        raw = base64.urlsafe_b64decode(seal.encode())
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], b"checkin-seal").decode()
    except (ValueError, InvalidTag):
        return None
    code, _, device_credential = plain.partition(":")
    return code, device_credential


def _legacy_answer(secret: str, form_token: str) -> tuple[str, str]:
    """What a form from before the upgrade yielded: a return code and device credential
    derived from the token. Only ever recomputed for a retry within LEGACY_RETRY_WINDOW."""
    code = tokens.derived_code(secret, f"return-code:{form_token}", RETURN_CODE_LENGTH)
    device_credential = hmac.new(secret.encode(), f"device:{form_token}".encode(), "sha256").hexdigest()
    return code, device_credential


def _by_token(session, form_token: str) -> Attendee | None:
    return session.scalar(sa.select(Attendee).where(Attendee.checkin_token_hash == tokens.digest(form_token)))


def _legacy_retry(session, event: Event, form_token: str, secret: str) -> tuple[Attendee, str, str]:
    """A form rendered before the upgrade: its retry lands on the attendee its first submit
    made, for a few minutes; anything else gets a fresh (bound) form."""
    existing = _by_token(session, form_token)
    if (existing is None or existing.event_id != event.id or existing.checkin_seal is not None
            or existing.checked_in_at is None or existing.checked_in_at < clock.now() - LEGACY_RETRY_WINDOW):
        raise FormExpired()
    code, device_credential = _legacy_answer(secret, form_token)
    if not hmac.compare_digest(existing.return_code_hash, tokens.digest(code)):
        raise FormExpired()  # the code was renewed since
    return existing, code, device_credential


class CheckedIn(NamedTuple):
    attendee: Attendee
    code: str
    #: The device credential for the browser's cookie.
    credential: str
    #: True when this call also made the device (with that credential) holding the attendee,
    #: in the attendee's own transaction: nothing is left to attach.
    device_made: bool = False


def check_in_from_form(session, event: Event, data: dict, form_token: str, secret: str,
                       binding: str | None = "", device_label: str | None = None) -> CheckedIn:
    """Check a walk-in attendee in; returns the attendee, their return code and the
    credential a new device gets.

    `device_label` ("Chrome on Android") is given for a browser that holds nothing yet: its
    new device is made holding the new attendee in the same transaction (`device_made`).

    `form_token` is the one-time token of the form and `binding` the value of the form
    cookie of the browser that sends it (None: it has none). Submitting the same form twice
    from that browser (a double tap, a retry on bad wifi, requests racing) lands on the same
    attendee with the same code: the token's hash is unique in the database, and the first
    submit's random code and credential are stored sealed under a key only that browser's
    request can rebuild. From anywhere else the token is refused (FormExpired).
    """
    bound = form_token_is_valid(secret, form_token, binding)
    if not bound and not _is_legacy_token(secret, form_token):
        raise FormExpired()
    if not event.is_checkin_open(clock.now()):
        raise CheckInClosed()
    if not bound:
        return CheckedIn(*_legacy_retry(session, event, form_token, secret))
    values = read_profile(data)
    code = tokens.random_code(RETURN_CODE_LENGTH)
    device_credential = secrets.token_urlsafe(32)
    key = _seal_key(secret, form_token, binding)
    checked_in = dict(
        checked_in_at=clock.now(),
        checkin_token_hash=tokens.digest(form_token),
        checkin_seal=_seal(key, code, device_credential),
        return_code_hash=tokens.digest(code),
        **values,
    )
    try:
        attendee = claim_registration(session, event, checked_in)
        if attendee is None:
            attendee = Attendee(event_id=event.id, pickme_token=tokens.random_code(PICKME_LENGTH).lower(),
                                **checked_in)
            attendee.refresh_search_text()
            session.add(attendee)
        if device_label is not None:
            session.flush()  # the attendee's id, and a repeated form token fails here
            devices.add_new(session, device_credential, attendee.id, device_label,
                            checked_in["checked_in_at"])
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _by_token(session, form_token)
        if existing is None:
            raise
        if existing.event_id != event.id:
            raise FormExpired() from None  # a form from another event's poster
        answer = _unseal(key, existing.checkin_seal)
        if answer is None or not hmac.compare_digest(existing.return_code_hash, tokens.digest(answer[0])):
            raise FormExpired() from None  # the code was renewed since
        return CheckedIn(existing, *answer)
    log.info("checked in: event=%s attendee=%s", event.id, attendee.id)
    return CheckedIn(attendee, code, device_credential, device_label is not None)


def update_profile(session, attendee: Attendee, data: dict) -> Attendee:
    """Change my name, answers and contact details after check-in (the same rules as the
    check-in form). Commits."""
    values = read_profile(data)
    for name, value in values.items():
        setattr(attendee, name, value)
    attendee.refresh_search_text()
    session.commit()
    log.info("answers changed: event=%s attendee=%s", attendee.event_id, attendee.id)
    return attendee


def claim_registration(session, event: Event, checked_in: dict) -> Attendee | None:
    """The imported registration this check-in is, if its email matches one that nobody has
    checked in as yet (never by QR, not on a phone, not checked in at the door now): the row
    takes everything from the check-in (the imported name too is replaced by what they
    typed), so the welcome page shows nothing they didn't type. A conditional UPDATE: of
    two phones typing the same email at once, one claims the row, the other is a new row.
    Doesn't commit."""
    email = checked_in.get("email")
    if not email:
        return None
    claimable = sa.and_(Attendee.event_id == event.id, Attendee.email == email,
                        Attendee.imported_at.is_not(None),
                        Attendee.checked_in_at.is_(None), Attendee.checkin_token_hash.is_(None),
                        Attendee.deleted_at.is_(None),
                        ~sa.exists().where(DeviceAttendee.attendee_id == Attendee.id))
    row_id = session.scalar(sa.select(Attendee.id).where(claimable))
    if row_id is None:
        return None
    values = dict(checked_in, left_at=None, checked_in_by_id=None,
                  search_text=search_text_for(*(checked_in.get(f) for f in
                                                ("name", "what_i_do", "how_i_help", "looking_for"))))
    done = session.execute(sa.update(Attendee).where(Attendee.id == row_id, claimable).values(**values)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return None
    attendee = session.get(Attendee, row_id, populate_existing=True)
    log.info("checked in: event=%s attendee=%s (a registration)", event.id, row_id)
    return attendee


def check_in(session, event: Event, data: dict, form_token: str, secret: str,
             binding: str | None = "") -> tuple[Attendee, str]:
    """`check_in_from_form` without the device credential: the attendee and their code."""
    done = check_in_from_form(session, event, data, form_token, secret, binding)
    return done.attendee, done.code


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


def held_by(credential: str | None):
    """The condition (on Attendee) that a browser with this device credential still holds the
    attendee: its device was not signed out. A cookie from before devices existed (no
    credential) holds only attendees who were there before then."""
    if not credential:
        return Attendee.legacy_cookie_ok
    return held_by_hash(tokens.digest(credential))


def held_by_hash(credential_hash):
    """`held_by` for a credential's hash (a value, or a bind parameter in a built statement)."""
    return sa.exists().where(DeviceAttendee.attendee_id == Attendee.id,
                             DeviceAttendee.device_id == Device.id,
                             Device.credential_hash == credential_hash)


def signed_in_attendee(session, code: str, event_id: int, credential: str | None) -> Attendee:
    """The attendee a device cookie opens at an event: its code must match, and its device
    must still hold that attendee (not signed out). A cookie from before devices existed
    (no credential) opens only attendees who were there before then. One query."""
    code = tokens.normalise_code(code or "")
    if len(code) != RETURN_CODE_LENGTH:
        raise ReturnCodeInvalid()
    row = session.execute(
        sa.select(Attendee, held_by(credential))
        .where(Attendee.return_code_hash == tokens.digest(code))).first()
    if row is None or row[0].event_id != event_id or not row[1]:
        raise ReturnCodeInvalid()
    return row[0]


def new_return_code(session, attendee: Attendee, keep_credential: str | None = None) -> str:
    """Replace the attendee's return code and sign out every device but the one asking
    (`keep_credential`): a copied cookie or a code someone saw opens nothing any more.
    Commits; returns the new code (shown once, kept only on this device)."""

    code = tokens.random_code(RETURN_CODE_LENGTH)
    attendee.return_code_hash = tokens.digest(code)
    attendee.checkin_seal = None  # a retried check-in form can't bring the old code back
    attendee.legacy_cookie_ok = False
    others = devices.sign_out_all(session, attendee, keep_credential)
    session.commit()
    log.info("return code renewed: attendee=%s signed_out=%s", attendee.id, others)
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
