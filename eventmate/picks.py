"""My three: choosing, swapping and dropping the people I want to really get to know."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock
from .errors import NotFound, PickLimitReached, PickNotHere, PickOtherEvent, PickSelf
from .models import Attendee, Note, Pick

log = logging.getLogger("eventmate.actions")

LIMIT = 3


@dataclass
class Chosen:
    """One of my picks, as my page shows it."""

    pick: Pick
    person: Attendee
    is_mutual: bool
    note: Note | None

    @property
    def shared_contact(self) -> str | None:
        """Contact details go to the people *they* picked: here, only when mutual."""
        return self.person.contact if self.is_mutual else None


def _target(session, picker: Attendee, picked_id: int) -> Attendee:
    picked = session.get(Attendee, picked_id)
    if picked is None:
        raise NotFound()
    if picked.event_id != picker.event_id:
        raise PickOtherEvent()
    if picked.id == picker.id:
        raise PickSelf()
    if not picked.is_here:
        raise PickNotHere()
    return picked


def _existing(session, picker_id: int, picked_id: int) -> Pick | None:
    return session.scalar(sa.select(Pick).where(Pick.picker_id == picker_id, Pick.picked_id == picked_id))


def pick(session, picker: Attendee, picked_id: int) -> Pick:
    """Add someone to my three. Picking someone already picked changes nothing.

    The limit is held by the database: three slots under a unique (picker, slot). Each try
    takes a free-looking slot; a clash with a racing request moves on to the next slot, and
    when none is left the answer is PickLimitReached — never a fourth row.
    """
    picked = _target(session, picker, picked_id)
    for slot in range(LIMIT):
        existing = _existing(session, picker.id, picked.id)
        if existing is not None:
            return existing
        taken = set(session.scalars(sa.select(Pick.slot).where(Pick.picker_id == picker.id)))
        if slot in taken:
            continue
        row = Pick(event_id=picker.event_id, picker_id=picker.id, picked_id=picked.id,
                   slot=slot, created_at=clock.now())
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # someone else took this slot (or this very pick) a moment ago
        session.commit()
        log.info("picked: event=%s picker=%s picked=%s", picker.event_id, picker.id, picked.id)
        return row
    existing = _existing(session, picker.id, picked.id)
    if existing is not None:
        return existing
    session.rollback()
    raise PickLimitReached()


def unpick(session, picker: Attendee, picked_id: int) -> None:
    """Drop someone from my three. My notes about them stay, for if I pick them again."""
    deleted = session.execute(
        sa.delete(Pick).where(Pick.picker_id == picker.id, Pick.picked_id == picked_id)
    ).rowcount
    session.commit()
    if deleted:
        log.info("unpicked: event=%s picker=%s picked=%s", picker.event_id, picker.id, picked_id)


def swap(session, picker: Attendee, drop_id: int, add_id: int) -> Pick:
    """Replace one of my three with someone new, in one step."""
    picked = _target(session, picker, add_id)
    if _existing(session, picker.id, picked.id) is not None:
        return _existing(session, picker.id, picked.id)
    old = _existing(session, picker.id, drop_id)
    if old is None:
        raise NotFound("That person isn't one of your three any more.")
    slot = old.slot
    session.delete(old)
    session.flush()
    row = Pick(event_id=picker.event_id, picker_id=picker.id, picked_id=picked.id,
               slot=slot, created_at=clock.now())
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise PickLimitReached() from None
    log.info("swapped: event=%s picker=%s dropped=%s picked=%s",
             picker.event_id, picker.id, drop_id, picked.id)
    return row


def picked_ids(session, picker: Attendee) -> set[int]:
    return set(session.scalars(sa.select(Pick.picked_id).where(Pick.picker_id == picker.id)))


def my_three(session, picker: Attendee) -> list[Chosen]:
    """My picks in slot order, each with whether it is mutual and my note about them."""
    picks = list(session.scalars(
        sa.select(Pick).where(Pick.picker_id == picker.id).order_by(Pick.slot)
    ))
    if not picks:
        return []
    ids = [p.picked_id for p in picks]
    people = {a.id: a for a in session.scalars(sa.select(Attendee).where(Attendee.id.in_(ids)))}
    back = set(session.scalars(
        sa.select(Pick.picker_id).where(Pick.picked_id == picker.id, Pick.picker_id.in_(ids))
    ))
    notes = {n.subject_id: n for n in session.scalars(
        sa.select(Note).where(Note.author_id == picker.id, Note.subject_id.in_(ids))
    )}
    return [Chosen(pick=p, person=people[p.picked_id], is_mutual=p.picked_id in back,
                   note=notes.get(p.picked_id)) for p in picks]


def is_picked(session, picker: Attendee, picked_id: int) -> bool:
    return _existing(session, picker.id, picked_id) is not None


def by_pickme_token(session, token: str) -> Attendee:
    attendee = session.scalar(sa.select(Attendee).where(Attendee.pickme_token == (token or "").lower()))
    if attendee is None:
        raise NotFound("That code doesn't belong to anyone.")
    return attendee


def by_id_in_event(session, picker: Attendee, person_id: int) -> Attendee:
    person = session.get(Attendee, person_id)
    if person is None or person.event_id != picker.event_id:
        raise NotFound()
    return person
