"""My three: choosing, swapping and dropping the people I want to really get to know."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from . import clock, followup
from .errors import NotFound, PickLimitReached, PickNotHere, PickOtherEvent, PickSelf, PicksFixed
from .models import Attendee, Note, Pick

log = logging.getLogger("eventmate.actions")

LIMIT = 3


def shared_with_me(person: Attendee, they_picked_me: bool) -> str | None:
    """The contact rule, in one place: the details someone shares go to the people *they*
    pick. Picking someone never reveals theirs — so picking, reading and unpicking cannot
    harvest a room's contacts."""
    return (person.contact or None) if they_picked_me else None


@dataclass
class Chosen:
    """One of my picks, as my page shows it."""

    pick: Pick
    person: Attendee
    #: They picked me too. In my three that makes the pick mutual.
    picked_me: bool
    note: Note | None

    @property
    def is_mutual(self) -> bool:
        return self.picked_me

    @property
    def shared_contact(self) -> str | None:
        """Their contact details: mine to see only because they picked me."""
        return shared_with_me(self.person, self.picked_me)


@dataclass
class Chooser:
    """Someone who picked me ("Ada chose you"), as my page shows them."""

    pick: Pick
    person: Attendee
    #: I picked them back.
    picked_back: bool

    @property
    def shared_contact(self) -> str | None:
        """They picked me, so the contact details they share are mine to see."""
        return shared_with_me(self.person, they_picked_me=True)


def _not_fixed(picker: Attendee) -> None:
    """Once the morning prompt has gone out, my three are what I follow up on."""
    if picker.three_fixed_at is not None:
        raise PicksFixed()


def _target(session, picker: Attendee, picked_id: int) -> Attendee:
    _not_fixed(picker)
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
    try:
        row, added = add(session, picker, picked_id)
    except PickLimitReached:
        session.rollback()
        raise
    if added:
        session.commit()
        log.info("picked: event=%s picker=%s picked=%s", picker.event_id, picker.id, row.picked_id)
    return row


def add(session, picker: Attendee, picked_id: int) -> tuple[Pick, bool]:
    """`pick` without its commit, for a change applied together with its record
    (`pick_changes`): the pick, and whether it is new."""
    picked = _target(session, picker, picked_id)
    for slot in range(LIMIT):
        existing = _existing(session, picker.id, picked.id)
        if existing is not None:
            return existing, False
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
        followup.schedule_prompt(session, picker)
        return row, True
    existing = _existing(session, picker.id, picked.id)
    if existing is not None:
        return existing, False
    raise PickLimitReached()


def unpick(session, picker: Attendee, picked_id: int) -> None:
    """Drop someone from my three. My notes about them stay, for if I pick them again."""
    deleted = drop(session, picker, picked_id)
    session.commit()
    if deleted:
        log.info("unpicked: event=%s picker=%s picked=%s", picker.event_id, picker.id, picked_id)


def drop(session, picker: Attendee, picked_id: int) -> bool:
    """`unpick` without its commit: whether there was such a pick."""
    _not_fixed(picker)
    return bool(session.execute(
        sa.delete(Pick).where(Pick.picker_id == picker.id, Pick.picked_id == picked_id)
    ).rowcount)


def swap(session, picker: Attendee, drop_id: int, add_id: int) -> Pick:
    """Replace one of my three with someone new, in one step.

    A double tap sends the same swap twice at once: whichever finishes second finds it done
    and answers as a success (not "you've already chosen three", not "not one of your three").
    """
    picked = _target(session, picker, add_id)
    for _ in range(3):
        done = _existing(session, picker.id, picked.id)
        if done is not None:
            return done
        old = _existing(session, picker.id, drop_id)
        if old is None:
            session.rollback()
            done = _existing(session, picker.id, picked.id)  # the racing swap just finished
            if done is not None:
                return done
            raise NotFound("That person isn't one of your three any more.")
        slot = old.slot
        deleted = session.execute(sa.delete(Pick).where(Pick.id == old.id),
                                  execution_options={"synchronize_session": False}).rowcount
        session.expunge(old)
        if deleted == 0:
            session.rollback()  # a racing swap removed it first: look again
            continue
        row = Pick(event_id=picker.event_id, picker_id=picker.id, picked_id=picked.id,
                   slot=slot, created_at=clock.now())
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            done = _existing(session, picker.id, picked.id)
            if done is not None and _existing(session, picker.id, drop_id) is None:
                return done
            raise PickLimitReached() from None
        log.info("swapped: event=%s picker=%s dropped=%s picked=%s",
                 picker.event_id, picker.id, drop_id, picked.id)
        return row
    raise PickLimitReached()


def swap_in(session, picker: Attendee, drop_id: int, add_id: int) -> tuple[Pick, bool]:
    """`swap` without its commit, for a change applied together with its record
    (`pick_changes`, whose record already settles a replay of the same swap): the new pick,
    and whether anything changed. The delete and the insert share a savepoint, so a clash
    leaves my three as they were."""
    picked = _target(session, picker, add_id)
    done = _existing(session, picker.id, picked.id)
    if done is not None:
        return done, False
    old = _existing(session, picker.id, drop_id)
    if old is None:
        raise NotFound("That person isn't one of your three any more.")
    row = Pick(event_id=picker.event_id, picker_id=picker.id, picked_id=picked.id,
               slot=old.slot, created_at=clock.now())
    try:
        with session.begin_nested():
            deleted = session.execute(sa.delete(Pick).where(Pick.id == old.id),
                                      execution_options={"synchronize_session": False}).rowcount
            if deleted == 0:  # a racing change removed them a moment ago
                raise NotFound("That person isn't one of your three any more.")
            session.add(row)
    except IntegrityError:
        done = _existing(session, picker.id, picked.id)  # a racing pick of the same person
        if done is not None:
            return done, False
        raise PickLimitReached() from None
    session.expunge(old)
    return row, True


_PICKED_IDS = sa.select(Pick.__table__.c.picked_id).where(Pick.__table__.c.picker_id == sa.bindparam("me"))


def picked_ids(session, picker: Attendee) -> set[int]:
    """The ids of my three (built once, in Core: who's here asks on every view)."""
    return set(session.scalars(_PICKED_IDS, {"me": picker.id}))


def my_three(session, picker: Attendee) -> list[Chosen]:
    """My picks in slot order, each with whether they picked me too and my note about them."""
    picks = list(session.scalars(_MY_PICKS, {"me": picker.id}))
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
    return [Chosen(pick=p, person=people[p.picked_id], picked_me=p.picked_id in back,
                   note=notes.get(p.picked_id)) for p in picks]


def _chose_me():
    mine = aliased(Pick)
    me = sa.bindparam("me")
    return (sa.select(Pick, Attendee, mine.id.is_not(None))
            .join(Attendee, Attendee.id == Pick.picker_id)
            .outerjoin(mine, sa.and_(mine.picker_id == me, mine.picked_id == Pick.picker_id))
            .where(Pick.picked_id == me, Pick.event_id == sa.bindparam("event"))
            .order_by(Pick.created_at, Pick.id))


#: Built once: on every view of an attendee's page (building it costs more than running it).
_CHOSE_ME = _chose_me()
_MY_PICKS = sa.select(Pick).where(Pick.picker_id == sa.bindparam("me")).order_by(Pick.slot)


def chose_me(session, me: Attendee) -> list[Chooser]:
    """The people who picked me — here or gone — in the order they did, each with the
    contact details they share and whether I picked them back. One query."""
    rows = session.execute(_CHOSE_ME, {"me": me.id, "event": me.event_id})
    return [Chooser(pick=pick, person=person, picked_back=bool(back)) for pick, person, back in rows]


def is_picked(session, picker: Attendee, picked_id: int) -> bool:
    return _existing(session, picker.id, picked_id) is not None


def by_pickme_token(session, token: str) -> Attendee:
    attendee = session.scalar(sa.select(Attendee).where(Attendee.pickme_token == (token or "").lower()))
    if attendee is None:
        raise NotFound("That code doesn't belong to anyone.")
    return attendee


def by_id_in_event(session, picker: Attendee, person_id: int) -> Attendee:
    person = session.get(Attendee, person_id)
    # A registration not here yet is the organiser's list, not part of the evening.
    if person is None or person.event_id != picker.event_id or person.is_registration:
        raise NotFound()
    return person
