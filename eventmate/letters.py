"""Notes between attendees: the follow-up sent in the app, replies, the inbox, and mute.

Who may write to whom follows the evening: the people I chose, the people who chose me,
and anyone who wrote to me. A note is sent exactly once per client id (a replayed form or a
double tap finds the first one). A note from someone the recipient muted is kept for its
sender and never shown to the recipient — it goes nowhere, silently.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock, followup
from .errors import CannotWrite, NotFound, SlowDown, TheyDeleted, ValidationFailed
from .models import Attendee, Coffee, FollowUp, Letter, Mute, Pick
from .validation import Fields

log = logging.getLogger("eventmate.actions")

#: A note, not an essay: enough for a warm paragraph or two.
MAX_BODY = 1000
#: Notes one attendee may send in an hour (three follow-ups and a lively exchange fit easily).
PER_HOUR = 20
CLIENT_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def other_in_event(session, me: Attendee, other_id: int) -> Attendee:
    other = session.get(Attendee, other_id)
    if other is None or other.event_id != me.event_id or other.id == me.id:
        raise NotFound()
    return other


def may_write(session, me: Attendee, other_id: int) -> bool:
    """I chose them, they chose me, or they wrote to me (visibly)."""
    chosen = sa.select(Pick.id).where(
        sa.or_(sa.and_(Pick.picker_id == me.id, Pick.picked_id == other_id),
               sa.and_(Pick.picker_id == other_id, Pick.picked_id == me.id)))
    wrote = sa.select(Letter.id).where(Letter.sender_id == other_id, Letter.recipient_id == me.id,
                                       Letter.hidden.is_(False))
    return session.scalar(sa.select(sa.or_(sa.exists(chosen), sa.exists(wrote)))) or False


def correspondent(session, me: Attendee, other_id: int) -> Attendee:
    """The person I want to write to, if the evening lets me; CannotWrite otherwise."""
    other = other_in_event(session, me, other_id)
    if other.deleted_at is not None:
        raise TheyDeleted()
    if not may_write(session, me, other.id):
        raise CannotWrite()
    return other


def shared_contact(session, me: Attendee, other: Attendee) -> str | None:
    """The contact rule: what someone shares goes to the people they chose, and with any
    note they send."""
    from .picks import shared_with_me

    chose_me = sa.exists(sa.select(Pick.id).where(Pick.picker_id == other.id, Pick.picked_id == me.id))
    wrote = sa.exists(sa.select(Letter.id).where(Letter.sender_id == other.id, Letter.recipient_id == me.id,
                                                 Letter.hidden.is_(False)))
    return shared_with_me(other, bool(session.scalar(sa.select(sa.or_(chose_me, wrote)))))


def is_muted(session, muter_id: int, muted_id: int) -> bool:
    return session.get(Mute, (muter_id, muted_id)) is not None


def sent_since(session, sender_id: int, since: datetime) -> int:
    """How many notes someone sent since a moment (the hourly limit)."""
    query = sa.select(sa.func.count()).where(Letter.sender_id == sender_id, Letter.created_at >= since)
    return session.scalar(query) or 0


def clean_body(data: dict) -> str:
    fields = Fields(data)
    body = fields.text("body", "a few words", max_len=MAX_BODY, multiline=True)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    return body


def check_client_id(client_id: str) -> str:
    client_id = (client_id or "").lower()
    if not CLIENT_ID_RE.match(client_id):
        raise ValidationFailed({"form": "This page is out of date. Please reload it and try again."})
    return client_id


def send(session, me: Attendee, other_id: int, data: dict, client_id: str) -> Letter:
    """Send a note to someone (commits). Replaying the same client id returns the first note."""
    client_id = check_client_id(client_id)
    done = session.scalar(sa.select(Letter).where(Letter.client_id == client_id))
    if done is not None:
        return _own(done, me)
    other = correspondent(session, me, other_id)
    body = clean_body(data)
    now = clock.now()
    if sent_since(session, me.id, now - timedelta(hours=1)) >= PER_HOUR:
        raise SlowDown()
    hidden = is_muted(session, other.id, me.id)
    letter = Letter(event_id=me.event_id, sender_id=me.id, recipient_id=other.id, body=body,
                    client_id=client_id, hidden=hidden, created_at=now)
    try:
        with session.begin_nested():
            session.add(letter)
            session.flush()
    except IntegrityError:
        session.rollback()  # the same form won a race a moment ago
        done = session.scalar(sa.select(Letter).where(Letter.client_id == client_id))
        if done is None:
            raise
        return _own(done, me)
    if not hidden:
        followup.notify(session, other, "note_received", dedupe_key=f"letter:{letter.id}",
                        letter_id=letter.id)
    if session.scalar(sa.select(Pick.id).where(Pick.picker_id == me.id, Pick.picked_id == other.id)):
        record_follow_up(session, me, other.id, "in_app")
    session.commit()
    log.info("letter sent: event=%s sender=%s recipient=%s hidden=%s", me.event_id, me.id, other.id, hidden)
    return letter


def _own(letter: Letter, me: Attendee) -> Letter:
    if letter.sender_id != me.id:
        raise ValidationFailed({"form": "This page is out of date. Please reload it and try again."})
    return letter


def record_follow_up(session, me: Attendee, subject_id: int, channel: str) -> None:
    """Count a follow-up once per channel (no commit)."""
    row = FollowUp(event_id=me.event_id, author_id=me.id, subject_id=subject_id, channel=channel,
                   created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # already counted


# --- reading ---------------------------------------------------------------------------

def visible(me_id: int):
    """Letters I may see: everything I sent, and what I received unless it was hidden."""
    return sa.or_(Letter.sender_id == me_id, sa.and_(Letter.recipient_id == me_id, Letter.hidden.is_(False)))


def conversation(session, me: Attendee, other_id: int) -> list[Letter]:
    return list(session.scalars(
        sa.select(Letter)
        .where(visible(me.id), sa.or_(sa.and_(Letter.sender_id == me.id, Letter.recipient_id == other_id),
                                      sa.and_(Letter.sender_id == other_id, Letter.recipient_id == me.id)))
        .order_by(Letter.created_at, Letter.id)
    ))


def mark_read(session, me: Attendee, other_id: int) -> None:
    """I opened the conversation: what they sent me is read (commits only if something was new)."""
    changed = session.execute(
        sa.update(Letter)
        .where(Letter.recipient_id == me.id, Letter.sender_id == other_id, Letter.read_at.is_(None),
               Letter.hidden.is_(False))
        .values(read_at=clock.now()),
        execution_options={"synchronize_session": False},
    ).rowcount
    if changed:
        session.commit()


def unread_count_select(me):
    """How many notes to `me` are unread (from people I haven't muted)."""
    muted = sa.select(Mute.muted_id).where(Mute.muter_id == me)
    return sa.select(sa.func.count()).where(Letter.recipient_id == me, Letter.read_at.is_(None),
                                            Letter.hidden.is_(False), Letter.sender_id.not_in(muted))


_UNREAD_COUNT = unread_count_select(sa.bindparam("me"))  # built once


def unread_count(session, me: Attendee) -> int:
    return session.scalar(_UNREAD_COUNT, {"me": me.id}) or 0


@dataclass
class Thread:
    """One person in my inbox: our notes and any coffee between us."""

    person: Attendee
    last: Letter | None = None
    unread: int = 0
    coffee: Coffee | None = None
    latest_at: datetime | None = None
    letters: list = field(default_factory=list)


def inbox(session, me: Attendee) -> tuple[list[Thread], list[Attendee]]:
    """My conversations, newest first, and the people I muted."""
    muted_ids = set(session.scalars(sa.select(Mute.muted_id).where(Mute.muter_id == me.id)))
    threads: dict[int, Thread] = {}
    letters = session.scalars(
        sa.select(Letter)
        .where(visible(me.id), sa.or_(Letter.sender_id == me.id, Letter.recipient_id == me.id))
        .order_by(Letter.created_at, Letter.id)
    )
    for letter in letters:
        other_id = letter.recipient_id if letter.sender_id == me.id else letter.sender_id
        thread = threads.setdefault(other_id, Thread(person=None))
        thread.last, thread.latest_at = letter, letter.created_at
        if letter.recipient_id == me.id and letter.read_at is None:
            thread.unread += 1
    ours = sa.select(Coffee).where(sa.or_(Coffee.low_id == me.id, Coffee.high_id == me.id))
    for coffee in session.scalars(ours):
        if coffee.hidden and coffee.proposer_id != me.id:
            continue
        thread = threads.setdefault(coffee.other(me.id), Thread(person=None))
        thread.coffee = coffee
        if thread.latest_at is None or coffee.updated_at > thread.latest_at:
            thread.latest_at = coffee.updated_at
    people = {a.id: a for a in session.scalars(sa.select(Attendee).where(
        Attendee.id.in_(set(threads) | muted_ids)))}
    shown = []
    for other_id, thread in threads.items():
        if other_id in muted_ids:
            continue
        thread.person = people[other_id]
        shown.append(thread)
    shown.sort(key=lambda t: t.latest_at, reverse=True)
    return shown, [people[i] for i in sorted(muted_ids)]


# --- mute ------------------------------------------------------------------------------

def mute(session, me: Attendee, other_id: int) -> Attendee:
    """Hear nothing more from someone: their notes and invitations go nowhere (commits)."""
    other = other_in_event(session, me, other_id)
    try:
        with session.begin_nested():
            session.add(Mute(muter_id=me.id, muted_id=other.id, event_id=me.event_id, created_at=clock.now()))
    except IntegrityError:
        pass  # muted already
    session.commit()
    log.info("muted: event=%s muter=%s", me.event_id, me.id)
    return other


def unmute(session, me: Attendee, other_id: int) -> Attendee:
    other = other_in_event(session, me, other_id)
    session.execute(sa.delete(Mute).where(Mute.muter_id == me.id, Mute.muted_id == other.id))
    session.commit()
    return other
