"""Listening notes: private to their author, kept per (author, subject), saved exactly once."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock
from .errors import NotFound, ValidationFailed
from .models import Attendee, Note, NoteSave
from .validation import Fields

log = logging.getLogger("eventmate.actions")

MAX_LEN = 2000
CLIENT_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PROMPTS = (
    ("working_on", "What they're working on"),
    ("needs", "What they need"),
    ("offer", "What I can offer, or promised"),
    ("personal", "Something personal to remember"),
)


def note_about(session, author: Attendee, subject_id: int) -> Note | None:
    """My note about someone, or None. Only ever looked up by its author."""
    return session.scalar(sa.select(Note).where(Note.author_id == author.id, Note.subject_id == subject_id))


def subject_for(session, author: Attendee, subject_id: int) -> Attendee:
    subject = session.get(Attendee, subject_id)
    if subject is None or subject.event_id != author.event_id or subject.id == author.id:
        raise NotFound()
    return subject


def save(session, author: Attendee, subject_id: int, data: dict, client_id: str) -> Note:
    """Save my note about someone. `client_id` (a UUID the page made) makes a replay harmless."""
    if not CLIENT_ID_RE.match(client_id or ""):
        raise ValidationFailed({"form": "This page is out of date. Please reload it and try again."})
    subject = subject_for(session, author, subject_id)
    fields = Fields(data)
    for name, label in PROMPTS:
        fields.text(name, f"“{label}”", max_len=MAX_LEN, required=False, multiline=True)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    done = session.scalar(sa.select(NoteSave).where(NoteSave.client_id == client_id.lower()))
    if done is not None:
        return _own_note(session, author, done.note_id)
    note = note_about(session, author, subject.id)
    if note is None:
        note = Note(event_id=author.event_id, author_id=author.id, subject_id=subject.id,
                    updated_at=clock.now())
        session.add(note)
    for name, _label in PROMPTS:
        setattr(note, name, fields.values.get(name, ""))
    note.updated_at = clock.now()
    try:
        with session.begin_nested():
            session.flush()
            session.add(NoteSave(client_id=client_id.lower(), note_id=note.id, saved_at=clock.now()))
        session.commit()
    except IntegrityError:
        session.rollback()  # the same save won a race a moment ago, or the note row did
        done = session.scalar(sa.select(NoteSave).where(NoteSave.client_id == client_id.lower()))
        if done is None:
            return save(session, author, subject_id, data, client_id)
        return _own_note(session, author, done.note_id)
    log.info("note saved: event=%s author=%s subject=%s", author.event_id, author.id, subject.id)
    return note


def _own_note(session, author: Attendee, note_id: int) -> Note:
    note = session.get(Note, note_id)
    if note is None or note.author_id != author.id:
        raise NotFound()
    return note
