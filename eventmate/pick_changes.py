"""Changes to my three sent from the phone (a tap, or the offline outbox sending it later),
each applied exactly once.

A change (pick, unpick or swap) carries a client id, a UUID the page made for it. The
phone's outbox sends it again whenever it is unsure it arrived: after a lost answer, from the
page and the service worker at once, on every page load until it hears back. So:

- The change and its record — (attendee, client id), a hash of the change, the answer — are
  written in one transaction, the record first. A copy arriving while the first is still
  being applied waits on the record's unique key (PostgreSQL) or the write lock (SQLite),
  finds it, and is answered with the stored answer: it never applies the change a second time,
  even when another change (an unpick) landed in between.
- A refusal (a fourth pick, someone who left) changes nothing, and is recorded too: a replay
  gets the same refusal, never a different outcome because the room moved on.
- The same id with a different change is refused (`ClientIdReused`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock, picks
from .errors import ClientIdReused, DomainError, ValidationFailed
from .models import Attendee, PickChange
from .notes import CLIENT_ID_RE

log = logging.getLogger("eventmate.actions")

KINDS = ("pick", "unpick", "swap")
#: A change that keeps meeting copies of itself at the same instant gives up after this many tries.
ATTEMPTS = 4
REUSED = ("This change arrived with the id of an earlier, different one, so we didn't make it. "
          "Please tap it again.")


@dataclass(frozen=True)
class Outcome:
    """What a change did: 200 and what was done, or a refusal's status and its error."""

    status: int
    body: dict
    is_replay: bool = False

    @property
    def done(self) -> bool:
        return self.status == 200


def change_hash(kind: str, person_id: int, drop_id: int | None) -> str:
    canonical = json.dumps({"kind": kind, "person": person_id, "drop": drop_id},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply(session, picker: Attendee, client_id: str, kind: str, person_id: int,
          drop_id: int | None = None) -> Outcome:
    """Apply a change once; a replay is answered with the stored outcome. Commits."""
    if kind not in KINDS:
        raise ValueError(kind)
    if not CLIENT_ID_RE.match(client_id or ""):
        raise ValidationFailed({"client_id": "This page is out of date. Please reload it and try again."})
    client_id = client_id.lower()
    drop_id = drop_id if kind == "swap" else None
    digest = change_hash(kind, person_id, drop_id)
    for _attempt in range(ATTEMPTS):
        stored = session.scalar(sa.select(PickChange).where(
            PickChange.attendee_id == picker.id, PickChange.client_id == client_id))
        if stored is not None:
            return _replay(stored, digest)
        record = PickChange(attendee_id=picker.id, client_id=client_id, change_hash=digest,
                            status=0, result="{}", created_at=clock.now())
        try:
            session.add(record)
            session.flush()  # the record first: a copy of this change waits here, then replays
            changed = _do(session, picker, kind, person_id, drop_id)
        except IntegrityError:
            session.rollback()  # a copy of this change was recorded a moment ago
            continue
        except DomainError as refusal:
            session.rollback()
            outcome = Outcome(refusal.status, {"error": refusal.code, "message": refusal.message})
            if _record(session, picker, client_id, digest, outcome):
                log.info("pick change refused: event=%s picker=%s kind=%s person=%s error=%s",
                         picker.event_id, picker.id, kind, person_id, refusal.code)
                return outcome
            continue
        body = {"done": True, "kind": kind, "person": person_id}
        if drop_id is not None:
            body["drop"] = drop_id
        record.status, record.result = 200, json.dumps(body, sort_keys=True)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        if changed:
            log.info("pick change: event=%s picker=%s kind=%s person=%s drop=%s",
                     picker.event_id, picker.id, kind, person_id, drop_id or "-")
        return Outcome(200, body)
    raise RuntimeError(f"pick change {client_id} kept clashing with copies of itself")


def _do(session, picker: Attendee, kind: str, person_id: int, drop_id: int | None) -> bool:
    """The change itself, without committing: whether it changed anything."""
    if kind == "pick":
        return picks.add(session, picker, person_id)[1]
    if kind == "unpick":
        return picks.drop(session, picker, person_id)
    return picks.swap_in(session, picker, drop_id, person_id)[1]


def _record(session, picker: Attendee, client_id: str, digest: str, outcome: Outcome) -> bool:
    """Store a refusal (it changed nothing); False when a copy recorded its outcome first."""
    session.add(PickChange(attendee_id=picker.id, client_id=client_id, change_hash=digest,
                           status=outcome.status, result=json.dumps(outcome.body, sort_keys=True),
                           created_at=clock.now()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _replay(stored: PickChange, digest: str) -> Outcome:
    if stored.change_hash != digest:
        raise ClientIdReused(REUSED)
    return Outcome(stored.status, json.loads(stored.result), is_replay=True)
