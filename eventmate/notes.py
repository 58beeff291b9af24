"""Listening notes: private to their author, kept per (author, subject), saved exactly once.

One design for every save (the form, the page's autosave, a change kept on the phone and
sent later):

- A save sets only the fields it sends, and says for each the value it was *based on* (what
  the page last knew the server held; `base_<field>`, empty when not sent).
- Fields merge one by one. A field still holding its base takes the new text; a field that
  already holds the new text is saved as it is; a field changed elsewhere since the base is a
  conflict: it keeps the other screen's text, and the answer carries both versions, so no
  text is ever dropped without its author seeing it.
- A save carries a client id (a UUID the page made, one per save) and is stored with a hash
  of its change and its result. A replay (same id, same change) is answered with that stored
  result and changes nothing; the same id with another change, or about someone else, is
  refused (`ClientIdReused`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock
from .errors import ClientIdReused, NotFound, ValidationFailed
from .models import Attendee, Note, NoteSave
from .validation import Fields, clean_text

log = logging.getLogger("eventmate.actions")

MAX_LEN = 2000
CLIENT_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PROMPTS = (
    ("working_on", "What they're working on"),
    ("needs", "What they need"),
    ("offer", "What I can offer, or promised"),
    ("personal", "Something personal to remember"),
)
FIELDS = tuple(name for name, _label in PROMPTS)
#: The form field carrying the value a field was based on: `base_needs` for `needs`.
BASE = "base_"
#: A save that keeps meeting another at the same instant gives up after this many tries.
ATTEMPTS = 4


@dataclass(frozen=True)
class SaveResult:
    """What one save did: the fields now holding its text, and the conflicts it met
    (field → {"yours": what this save sent, "theirs": what the note kept})."""

    note: Note
    saved: dict[str, str]
    conflicts: dict[str, dict[str, str]]
    saved_at: datetime
    is_replay: bool = False

    def as_json(self) -> str:
        return json.dumps({"saved": self.saved, "conflicts": self.conflicts},
                          ensure_ascii=False, sort_keys=True)


def note_about(session, author: Attendee, subject_id: int) -> Note | None:
    """My note about someone, or None. Only ever looked up by its author."""
    return session.scalar(sa.select(Note).where(Note.author_id == author.id, Note.subject_id == subject_id))


def values_of(note: Note | None) -> dict[str, str]:
    """Every field of a note (empty ones for no note yet)."""
    return {name: (getattr(note, name) or "") if note is not None else "" for name in FIELDS}


def subject_for(session, author: Attendee, subject_id: int) -> Attendee:
    subject = session.get(Attendee, subject_id)
    if subject is None or subject.event_id != author.event_id or subject.id == author.id:
        raise NotFound()
    return subject


def read_change(data) -> tuple[dict[str, str], dict[str, str]]:
    """The fields a save sets (only those sent, cleaned) and the value each was based on."""
    fields = Fields(data)
    changes = {}
    for name, label in PROMPTS:
        if name in data:
            fields.text(name, f"“{label}”", max_len=MAX_LEN, required=False, multiline=True)
            changes[name] = fields.values.get(name, "")
    if fields.errors:
        raise ValidationFailed(fields.errors)
    base = {}
    for name in changes:
        raw = data.get(BASE + name)
        base[name] = clean_text(raw if isinstance(raw, str) else "", multiline=True)
    return changes, base


def change_hash(subject_id: int, changes: dict[str, str], base: dict[str, str]) -> str:
    """Whom a save is about, what it sets and what that was based on, as one SHA-256."""
    canonical = json.dumps({"subject": subject_id, "changes": changes, "base": base},
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def save(session, author: Attendee, subject_id: int, data, client_id: str) -> SaveResult:
    """Save a change to my note about someone, merged per field (see the module's docstring)."""
    if not CLIENT_ID_RE.match(client_id or ""):
        raise ValidationFailed({"form": "This page is out of date. Please reload it and try again."})
    client_id = client_id.lower()
    subject = subject_for(session, author, subject_id)
    changes, base = read_change(data)
    digest = change_hash(subject.id, changes, base)
    for _attempt in range(ATTEMPTS):
        done = session.scalar(sa.select(NoteSave).where(NoteSave.client_id == client_id))
        if done is not None:
            return _replay(session, author, subject, done, digest)
        # The row lock makes read-compare-write one step on PostgreSQL; on SQLite a writing
        # transaction already holds the database's write lock from its start (BEGIN IMMEDIATE).
        note = session.scalar(
            sa.select(Note).where(Note.author_id == author.id, Note.subject_id == subject.id)
            .with_for_update().execution_options(populate_existing=True))
        if note is None:
            note = Note(event_id=author.event_id, author_id=author.id, subject_id=subject.id,
                        updated_at=clock.now(), **dict.fromkeys(FIELDS, ""))
            session.add(note)
        saved, conflicts = _merge(note, changes, base)
        now = clock.now()
        if saved:
            note.updated_at = now
        result = SaveResult(note=note, saved=saved, conflicts=conflicts, saved_at=now)
        try:
            session.flush()
            session.add(NoteSave(client_id=client_id, note_id=note.id, saved_at=now,
                                 change_hash=digest, result=result.as_json()))
            session.commit()
        except IntegrityError:
            # The same save, or the note's first save from another tab, won a race a moment
            # ago: read again, and answer as a replay or merge into what is there now.
            session.rollback()
            continue
        log.info("note saved: event=%s author=%s subject=%s fields=%s conflicts=%s", author.event_id,
                 author.id, subject.id, ",".join(sorted(saved)) or "-", ",".join(sorted(conflicts)) or "-")
        return result
    raise RuntimeError(f"note save {client_id} kept clashing with other saves")


def _merge(note: Note, changes: dict[str, str], base: dict[str, str]):
    saved: dict[str, str] = {}
    conflicts: dict[str, dict[str, str]] = {}
    for name, new in changes.items():
        if new == base[name]:
            continue  # not changed on that page (a form sends every field)
        current = getattr(note, name) or ""
        if current == new:
            saved[name] = new
        elif current == base[name]:
            setattr(note, name, new)
            saved[name] = new
        else:
            conflicts[name] = {"yours": new, "theirs": current}
    return saved, conflicts


def _replay(session, author: Attendee, subject: Attendee, done: NoteSave, digest: str) -> SaveResult:
    """The stored answer to a save sent again; a different change under its id is refused."""
    note = session.get(Note, done.note_id)
    if note is None or note.author_id != author.id or note.subject_id != subject.id:
        raise ClientIdReused()
    if done.change_hash is None:
        # Saved before changes were recorded: it did save, and what it sent is unknown.
        return SaveResult(note=note, saved={}, conflicts={}, saved_at=done.saved_at, is_replay=True)
    if done.change_hash != digest:
        raise ClientIdReused()
    stored = json.loads(done.result or "{}")
    return SaveResult(note=note, saved=stored.get("saved", {}), conflicts=stored.get("conflicts", {}),
                      saved_at=done.saved_at, is_replay=True)
