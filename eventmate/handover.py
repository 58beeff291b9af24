"""Identity in the installed app. On iOS a home-screen app does not share Safari's cookies, so
an attendee who installs EventMate after checking in would open it as a stranger.

The choice: every attendee page links a personal manifest whose `start_url` carries a
one-time hand-over token. The token is the event and the device's return code, encrypted
under a key made from the app's secret (AES-GCM), with an id and the time it was made. The
first launch of the installed app opens `/hello/<token>`: the server decrypts it, records
its id as used (a unique row: a copy of the link opens nothing a second time), and signs the
app in as a new device of that attendee, as a return code typed by hand would.

The trade-off: until it is used, or for `LIFETIME` at most, the home-screen bookmark holds a
secret as strong as the return code. Someone who can read that bookmark already holds the
phone. It is never shown, never sent to another site (Referrer-Policy), and the attendee can
void it at any time with "Get a new code".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError

from . import checkin, clock
from .errors import DomainError
from .models import Attendee, Handover

LIFETIME = timedelta(days=2)
_CONTEXT = b"eventmate-handover-v1"


class HandoverInvalid(DomainError):
    code = "handover_invalid"
    status = 410
    message = ("This home-screen link has been used already, or is too old. Open EventMate with your "
               "return code: it's on your event page in the browser where you checked in.")


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"handover-key", hashlib.sha256).digest()


def make(secret: str, event_id: int, code: str) -> str:
    """A fresh token for this device's code at this event (no database write)."""
    body = json.dumps({"e": event_id, "c": code, "t": int(clock.now().timestamp()),
                       "j": secrets.token_urlsafe(12)}, separators=(",", ":")).encode()
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(secret)).encrypt(nonce, body, _CONTEXT)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def read(secret: str, token: str) -> dict | None:
    """What a token holds, if we made it and it is not too old; None otherwise."""
    try:
        raw = base64.urlsafe_b64decode((token or "") + "=" * (-len(token or "") % 4))
        body = json.loads(AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], _CONTEXT))
        made = int(body["t"])
        event_id, code, jti = int(body["e"]), str(body["c"]), str(body["j"])
    except (ValueError, InvalidTag, KeyError, TypeError):
        return None
    age = clock.now().timestamp() - made
    if age < -60 or age > LIFETIME.total_seconds():
        return None
    return {"event_id": event_id, "code": code, "jti": jti}


def is_used(session, held: dict) -> bool:
    return session.get(Handover, held["jti"]) is not None


def redeem(session, secret: str, token: str) -> tuple[Attendee, str]:
    """Use a token once: the attendee and their return code. Commits the use."""
    held = read(secret, token)
    if held is None:
        raise HandoverInvalid()
    try:
        attendee = checkin.attendee_by_code(session, held["code"], held["event_id"])
    except DomainError:
        raise HandoverInvalid() from None
    if attendee.deleted_at is not None:
        raise HandoverInvalid()
    session.add(Handover(jti=held["jti"], attendee_id=attendee.id, used_at=clock.now()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HandoverInvalid() from None
    return attendee, held["code"]
