"""Book a coffee: up to three concrete times and a place; the other person accepts one,
declines, or suggests other times. Accepted, both get a calendar file and a push.

One row per pair (`Coffee`), so a counter-offer or a reschedule updates the same
invitation and the calendar UID never changes; SEQUENCE grows with every new time and with
a cancel, so calendars update rather than duplicate. Every change names the version it
saw: when both people act at once, one wins and the other is shown what happened.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock, followup, ics, letters
from .errors import CoffeeChanged, NotFound, SlowDown, ValidationFailed
from .models import Attendee, Coffee, CoffeeSlot, Event, Message
from .validation import Fields

log = logging.getLogger("eventmate.actions")

MAX_SLOTS = 3
#: A coffee, not a meeting.
MINUTES = 45
#: Suggested when the form opens: the next working days, a morning, a lunch, an afternoon.
DEFAULT_TIMES = (time(9, 30), time(12, 30), time(16, 0))
#: How far ahead a time may be.
HORIZON = timedelta(days=90)
#: Invitations, answers and cancellations one attendee may send in an hour.
PER_HOUR = 20
MAX_PLACE = 120


# --- times -----------------------------------------------------------------------------

def default_slots(event: Event) -> list[datetime]:
    """The next three working days where the event is, at 9:30, 12:30 and 16:00 (local)."""
    day = event.local(clock.now()).date()
    slots: list[datetime] = []
    while len(slots) < MAX_SLOTS:
        day += timedelta(days=1)
        if day.weekday() < 5:
            slots.append(datetime.combine(day, DEFAULT_TIMES[len(slots)], tzinfo=event.zone))
    return slots


def form_values(event: Event, slots: list[datetime]) -> dict:
    """Slots as the form's date and time fields (local wall clock)."""
    values = {}
    for i, moment in enumerate(slots):
        local = event.local(moment)
        values[f"date{i}"], values[f"time{i}"] = local.date().isoformat(), local.strftime("%H:%M")
    return values


def parse_slots(event: Event, data: dict, errors: dict) -> list[datetime]:
    """Up to three (date, time) pairs, local to the event, as sorted UTC times."""
    now, zone = clock.now(), event.zone
    found: list[datetime] = []
    for i in range(MAX_SLOTS):
        raw_day = str(data.get(f"date{i}") or "").strip()[:20]
        raw_time = str(data.get(f"time{i}") or "").strip()[:20]
        if not raw_day and not raw_time:
            continue
        field = f"slot{i}"
        if not raw_day or not raw_time:
            errors[field] = "Please give both a day and a time."
            continue
        try:
            day, at = date.fromisoformat(raw_day), time.fromisoformat(raw_time)
        except ValueError:
            errors[field] = "Please give the day as YYYY-MM-DD and the time as HH:MM."
            continue
        local = datetime.combine(day, at.replace(second=0, microsecond=0, tzinfo=None), tzinfo=zone)
        moment = clock.to_utc(local)
        if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            errors[field] = "The clocks change at that time there. Please pick another."
        elif moment <= now:
            errors[field] = "That time has already passed."
        elif moment > now + HORIZON:
            errors[field] = "Please pick a time in the next three months."
        elif moment in found:
            errors[field] = "That's the same time as another one."
        else:
            found.append(moment)
    if not found and not errors:
        errors["slots"] = "Please suggest at least one time."
    return sorted(found)


def _clean(event: Event, data: dict) -> tuple[list[datetime], str]:
    fields = Fields(data)
    place = fields.text("place", "a place", max_len=MAX_PLACE, required=False) or ""
    slots = parse_slots(event, data, fields.errors)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    return slots, place


# --- finding ---------------------------------------------------------------------------

def pair(a_id: int, b_id: int) -> tuple[int, int]:
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


def between(session, me: Attendee, other_id: int) -> Coffee | None:
    """Our coffee, as I may see it (an invitation hidden from me by my mute is not there)."""
    low, high = pair(me.id, other_id)
    coffee = session.scalar(sa.select(Coffee).where(Coffee.low_id == low, Coffee.high_id == high))
    if coffee is not None and coffee.hidden and coffee.proposer_id != me.id:
        return None
    return coffee


def mine(session, me: Attendee, coffee_id: int) -> Coffee:
    coffee = session.get(Coffee, coffee_id)
    if coffee is None or me.id not in (coffee.low_id, coffee.high_id) or (
            coffee.hidden and coffee.proposer_id != me.id):
        raise NotFound()
    return coffee


def _version(seen) -> int | None:
    text = "" if seen is None else str(seen).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 9 else None


def _slow_down(session, me: Attendee) -> None:
    """Every visible coffee action sends the other person a notification: count those."""
    since = clock.now() - timedelta(hours=1)
    sent = session.scalar(
        sa.select(sa.func.count()).select_from(Message).join(Coffee, Coffee.id == Message.coffee_id)
        .where(Message.created_at >= since, Message.attendee_id != me.id,
               sa.or_(Coffee.low_id == me.id, Coffee.high_id == me.id))
    ) or 0
    if sent >= PER_HOUR:
        raise SlowDown()


def _slot_times(coffee: Coffee) -> list[datetime]:
    return [s.starts_at for s in coffee.slots]


# --- changing --------------------------------------------------------------------------

def propose(session, me: Attendee, other_id: int, data: dict, seen_version=None) -> Coffee:
    """Suggest times (a first invitation, a counter-offer, or a reschedule). Commits.

    `seen_version` is the version the page showed ("" when there was no coffee yet)."""
    other = letters.correspondent(session, me, other_id)
    slots, place = _clean(me.event, data)
    seen = _version(seen_version)
    coffee = between(session, me, other.id)
    if coffee is not None and coffee.version != seen:
        if coffee.proposer_id == me.id and coffee.state == "proposed" and _slot_times(coffee) == slots:
            return coffee  # the same form again
        raise CoffeeChanged()
    _slow_down(session, me)
    hidden = letters.is_muted(session, other.id, me.id)
    now = clock.now()
    if coffee is None:
        low, high = pair(me.id, other.id)
        existing = session.scalar(sa.select(Coffee).where(Coffee.low_id == low, Coffee.high_id == high))
        if existing is not None:  # hidden from me by my own mute: I asked again, so it shows
            coffee = existing
            seen = existing.version
        else:
            coffee = Coffee(event_id=me.event_id, low_id=low, high_id=high, proposer_id=me.id,
                            state="proposed", place=place, uid=f"coffee-{secrets.token_hex(12)}@eventmate",
                            sequence=0, version=0, hidden=hidden, created_at=now, updated_at=now)
            coffee.slots = [CoffeeSlot(position=i, starts_at=s) for i, s in enumerate(slots)]
            try:
                with session.begin_nested():
                    session.add(coffee)
                    session.flush()
            except IntegrityError:
                session.rollback()  # they invited me at the same moment
                raise CoffeeChanged() from None
            return _done(session, coffee, me, [] if hidden else [other], "coffee_proposed", "proposed")
    if not _bump(session, coffee, seen, proposer_id=me.id, state="proposed", place=place, hidden=hidden):
        raise CoffeeChanged()
    session.execute(sa.delete(CoffeeSlot).where(CoffeeSlot.coffee_id == coffee.id))
    session.add_all([CoffeeSlot(coffee_id=coffee.id, position=i, starts_at=s) for i, s in enumerate(slots)])
    session.flush()
    session.expire(coffee)
    return _done(session, coffee, me, [] if hidden else [other], "coffee_proposed", "proposed")


def accept(session, me: Attendee, coffee_id: int, position, seen_version) -> Coffee:
    """Take one of the times on the table. Both of us get a push and the calendar file."""
    coffee = mine(session, me, coffee_id)
    slots = _slot_times(coffee)
    index = _version(position)
    if index is None or index >= len(slots):
        raise ValidationFailed({"slot": "Please choose one of the times."})
    chosen = slots[index]
    if coffee.version != _version(seen_version) or coffee.state != "proposed" or coffee.proposer_id == me.id:
        if coffee.state == "accepted" and coffee.starts_at == chosen:
            return coffee  # the same answer again
        raise CoffeeChanged()
    if chosen <= clock.now():
        raise ValidationFailed({"slot": "That time has passed. Please suggest other times."})
    sequence = coffee.sequence + (1 if coffee.starts_at is not None else 0)
    if not _bump(session, coffee, coffee.version, state="accepted", starts_at=chosen, sequence=sequence):
        raise CoffeeChanged()
    session.expire(coffee)
    people = [session.get(Attendee, coffee.low_id), session.get(Attendee, coffee.high_id)]
    return _done(session, coffee, me, people, "coffee_answered", "accepted")


def decline(session, me: Attendee, coffee_id: int, seen_version) -> Coffee:
    """None of these times, and no counter-offer: the invitation is closed."""
    coffee = mine(session, me, coffee_id)
    if coffee.version != _version(seen_version) or coffee.state != "proposed" or coffee.proposer_id == me.id:
        if coffee.state == "declined":
            return coffee
        raise CoffeeChanged()
    sequence = coffee.sequence + (1 if coffee.starts_at is not None else 0)
    if not _bump(session, coffee, coffee.version, state="declined", sequence=sequence):
        raise CoffeeChanged()
    session.expire(coffee)
    proposer = session.get(Attendee, coffee.other(me.id))
    return _done(session, coffee, me, [proposer], "coffee_answered", "declined")


def cancel(session, me: Attendee, coffee_id: int, seen_version) -> Coffee:
    """Call off an accepted coffee, or withdraw my own invitation. Calendars get a CANCEL."""
    coffee = mine(session, me, coffee_id)
    allowed = coffee.state == "accepted" or (coffee.state == "proposed" and coffee.proposer_id == me.id)
    if coffee.version != _version(seen_version) or not allowed:
        if coffee.state == "cancelled":
            return coffee
        raise CoffeeChanged()
    sequence = coffee.sequence + (1 if coffee.starts_at is not None else 0)
    if not _bump(session, coffee, coffee.version, state="cancelled", sequence=sequence):
        raise CoffeeChanged()
    session.expire(coffee)
    told = [] if coffee.hidden else [session.get(Attendee, coffee.other(me.id))]
    return _done(session, coffee, me, told, "coffee_answered", "cancelled")


def _bump(session, coffee: Coffee, seen: int | None, **values) -> bool:
    """Change the coffee only if nobody else changed it since `seen` (no commit)."""
    if seen is None:
        return False
    return session.execute(
        sa.update(Coffee).where(Coffee.id == coffee.id, Coffee.version == seen)
        .values(version=seen + 1, updated_at=clock.now(), **values),
        execution_options={"synchronize_session": False},
    ).rowcount == 1


def _done(session, coffee: Coffee, me: Attendee, tell: list[Attendee], kind: str, what: str) -> Coffee:
    for person in tell:
        followup.notify(session, person, kind, coffee_id=coffee.id,
                        dedupe_key=f"coffee:{coffee.id}:{coffee.version}:{person.id}")
    session.commit()
    log.info("coffee %s: event=%s coffee=%s by=%s", what, coffee.event_id, coffee.id, me.id)
    return coffee


# --- calendar --------------------------------------------------------------------------

def invite(coffee: Coffee, viewer: Attendee, other: Attendee, thread_url: str) -> ics.Invite:
    """The accepted (or cancelled) coffee as the viewer's calendar sees it."""
    event = viewer.event
    me_party = ics.Party(name=viewer.name, email=viewer.email or None)
    other_party = ics.Party(name=other.name, email=None)  # their email is never shown to others
    mine = coffee.proposer_id == viewer.id
    organizer, attendee = (me_party, other_party) if mine else (other_party, me_party)
    where = coffee.place or "To be agreed"
    description = (f"Coffee with {other.name}, after meeting at {event.name}.\n"
                   f"Place: {where}\nYour notes and messages: {thread_url}")
    return ics.Invite(uid=coffee.uid, sequence=coffee.sequence, starts_at=coffee.starts_at, minutes=MINUTES,
                      timezone=event.timezone, summary=f"Coffee with {other.name}", description=description,
                      location=coffee.place, organizer=organizer, attendee=attendee,
                      cancelled=coffee.state != "accepted", stamp=coffee.updated_at)
