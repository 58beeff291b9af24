"""The next morning: when the prompt is due, what it says, the reminder, and follow-ups.

Outgoing messages are rows (`Message`) with a due time; `dispatch` sends them. This module
decides *when* and *what*; it never sends anything itself.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import escape
from sqlalchemy.exc import IntegrityError

from . import clock, drafts, mail
from .errors import NotFound
from .models import Attendee, Event, FollowUp, Message, Note, Pick

log = logging.getLogger("eventmate.actions")

#: The prompt comes at least this long after the event ends: people sleep first.
QUIET_AFTER_EVENT = timedelta(hours=6)
#: The one gentle reminder, if nothing was sent by then ...
REMINDER_AFTER = timedelta(hours=8)
#: ... and never this late in the recipient's evening.
REMINDER_LATEST = time(21, 0)
#: A prompt the worker only reaches later than this (it was down) is too late to be useful.
STALE_AFTER = timedelta(hours=24)


def prompt_due_at(event: Event) -> datetime:
    """The first prompt hour, in the event's time zone, at least 6 hours after the end (UTC).

    Ends 22:00 → 09:00 the next day; ends 01:00 → 09:00 that day. Built from the local wall
    clock each day, so a DST change between the end and the prompt keeps it at 09:00 local.
    """
    earliest = event.ends_at + QUIET_AFTER_EVENT
    day = event.local(earliest).date()
    while True:
        due = clock.to_utc(datetime.combine(day, time(event.prompt_hour), tzinfo=event.zone))
        if due >= earliest:
            return due
        day += timedelta(days=1)


def prompt_when(event: Event) -> str | None:
    """"tomorrow at 9:00", "today at 9:00", "on Fri 15 May at 9:00"; None once it is due."""
    due = prompt_due_at(event)
    now = clock.now()
    if due <= now:
        return None
    local_due, today = event.local(due), event.local(now).date()
    hour = f"{local_due.hour}:00"
    if local_due.date() == today:
        return f"today at {hour}"
    if local_due.date() == today + timedelta(days=1):
        return f"tomorrow at {hour}"
    return f"on {local_due:%a} {local_due.day} {local_due:%b} at {hour}"


def reminder_due_at(event: Event, prompt_sent_at: datetime) -> datetime | None:
    """8 hours after the prompt, unless that is after 21:00 where the event is."""
    due = prompt_sent_at + REMINDER_AFTER
    local = event.local(due)
    if local.date() != event.local(prompt_sent_at).date() or local.time() > REMINDER_LATEST:
        return None
    return due


def _queue(session, attendee: Attendee, kind: str, due_at: datetime, dedupe_key: str | None, **about) -> bool:
    """Add a message row; False when the dedupe key says it exists already."""
    row = Message(event_id=attendee.event_id, attendee_id=attendee.id, kind=kind, dedupe_key=dedupe_key,
                  due_at=due_at, state="pending", attempts=0, outcome="", created_at=clock.now(), **about)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def schedule_prompt(session, attendee: Attendee) -> None:
    """Make sure the morning prompt is queued for someone who has picked (no commit).

    Called inside the transaction that adds a pick; at most one prompt per attendee is held
    by the unique dedupe key, so a racing second pick changes nothing.
    """
    key = f"prompt:{attendee.id}"
    if session.scalar(sa.select(Message.id).where(Message.dedupe_key == key)) is None:
        _queue(session, attendee, "prompt", prompt_due_at(attendee.event), key)


def reminder_row(attendee: Attendee, due_at: datetime) -> dict:
    """The one reminder after a prompt went out, as a row for a bulk insert that skips it
    when it exists already (its dedupe key)."""
    return {"event_id": attendee.event_id, "attendee_id": attendee.id, "kind": "reminder",
            "dedupe_key": f"reminder:{attendee.id}", "due_at": due_at, "state": "pending", "attempts": 0,
            "outcome": "", "created_at": clock.now()}


def reschedule_event(session, event: Event) -> int:
    """The event's times changed: move its pending prompts (no commit). Returns how many."""
    moved = session.execute(
        sa.update(Message)
        .where(Message.event_id == event.id, Message.kind == "prompt", Message.state == "pending")
        .values(due_at=prompt_due_at(event))
    ).rowcount
    # A reminder belongs to a prompt already sent; the new times cannot make it sensible.
    session.execute(
        sa.update(Message)
        .where(Message.event_id == event.id, Message.kind == "reminder", Message.state == "pending")
        .values(state="cancelled", outcome="event rescheduled")
    )
    return moved


def notify(session, attendee: Attendee, kind: str, *, dedupe_key: str | None = None,
           letter_id: int | None = None, coffee_id: int | None = None) -> None:
    """Queue a notification that goes out as soon as a worker sees it (no commit)."""
    _queue(session, attendee, kind, clock.now(), dedupe_key, letter_id=letter_id, coffee_id=coffee_id)


# --- what the prompt says --------------------------------------------------------------

#: "Follow up within 24 hours": measured from the end of the event.
FOLLOW_UP_WINDOW = timedelta(hours=24)


@dataclass
class Person:
    """One of my three on the follow-up page."""

    person: Attendee
    note: Note | None
    #: Their contact details, when they shared them with me (the contact rule, in picks).
    contact: str | None
    #: How I followed up so far ('in_app', 'email', 'sms', 'share', 'copy', 'confirmed').
    channels: set = field(default_factory=set)
    #: When I first followed up, by any channel.
    first_at: datetime | None = None
    draft: str = ""

    @property
    def followed_up(self) -> bool:
        return bool(self.channels)

    @property
    def sent_in_app(self) -> bool:
        return "in_app" in self.channels


def my_three_for_followup(session, me: Attendee) -> list[Person]:
    """My picks with my notes, their shared contact, how I followed up, and a drafted note."""
    from .picks import my_three  # imported here: picks schedules prompts through this module

    done: dict[int, list[FollowUp]] = {}
    for row in session.scalars(sa.select(FollowUp).where(FollowUp.author_id == me.id)):
        done.setdefault(row.subject_id, []).append(row)
    people = []
    for chosen in my_three(session, me):
        rows = done.get(chosen.person.id, [])
        people.append(Person(person=chosen.person, note=chosen.note, contact=chosen.shared_contact,
                             channels={r.channel for r in rows},
                             first_at=min((r.created_at for r in rows), default=None),
                             draft=draft_for(me, chosen.person, chosen.note)))
    return people


def within_window(event: Event, moment: datetime) -> bool:
    """Sent within 24 hours of the end of the event."""
    return moment <= event.ends_at + FOLLOW_UP_WINDOW


def window_left(event: Event) -> str | None:
    """"9 hours" or "40 minutes" left to follow up within 24 h; None once it has passed."""
    left = event.ends_at + FOLLOW_UP_WINDOW - clock.now()
    if left <= timedelta(0) or clock.now() < event.ends_at - timedelta(hours=12):
        return None
    hours = int(left.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, int(left.total_seconds() // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def when_phrase(event: Event) -> str | None:
    """How the note refers to the evening: "last night", "yesterday", "today" — or nothing."""
    started = event.local(event.starts_at)
    days = (event.local(clock.now()).date() - started.date()).days
    evening = started.hour >= 16
    if days == 0:
        return "tonight" if evening else "today"
    if days == 1:
        return "last night" if evening else "yesterday"
    return None


def draft_for(me: Attendee, person: Attendee, note: Note | None) -> str:
    """My note to one of my three, drafted from what I wrote down while listening."""
    seed = int.from_bytes(hashlib.sha256(f"{me.id}:{person.id}".encode()).digest()[:4], "big")
    return drafts.draft(me_name=me.name, their_name=person.name, event_name=me.event.name,
                        when=when_phrase(me.event), working_on=note.working_on if note else "",
                        needs=note.needs if note else "", offer=note.offer if note else "",
                        looking_for=person.looking_for or "", seed=seed)


def names(people: list[str]) -> str:
    """"Ana", "Ana and Ben", "Ana, Ben and Chloe"."""
    if len(people) <= 1:
        return "".join(people)
    return ", ".join(people[:-1]) + " and " + people[-1]


first_name = drafts.first_name


def waiting_by_attendee(session, attendee_ids: list[int]) -> dict[int, list[str]]:
    """For each attendee, the names of their picks they have not followed up with yet
    (one query for a whole batch of prompts)."""
    done = sa.exists().where(FollowUp.author_id == Pick.picker_id, FollowUp.subject_id == Pick.picked_id)
    rows = session.execute(
        sa.select(Pick.picker_id, Attendee.name)
        .join(Attendee, Attendee.id == Pick.picked_id)
        .where(Pick.picker_id.in_(attendee_ids), ~done)
        .order_by(Pick.picker_id, Pick.slot)
    ).all()
    waiting: dict[int, list[str]] = {i: [] for i in attendee_ids}
    for picker_id, name in rows:
        waiting[picker_id].append(name)
    return waiting


def compose(kind: str, attendee: Attendee, event: Event, waiting: list[str],
            message: Message | None = None, other: Attendee | None = None) -> tuple[str, str] | None:
    """(title, body) of a notification; None when there is nothing to say any more.

    A note or coffee notification says what is true when it goes out (`other` is the
    person it is about): an invitation answered in the meantime is not announced."""
    if kind in ("prompt", "reminder"):
        if not waiting:
            return None
        who = names([first_name(n) for n in waiting])
        if kind == "reminder":
            return (f"Still time to write to {who}",
                    "A short note today shows you were listening. It takes about a minute.")
        return (f"Good morning, {first_name(attendee.name)}",
                f"Send {who} a note while {event.name} is still fresh, and suggest a coffee. "
                "About a minute.")
    if other is None or message is None:
        return None
    who = first_name(other.name)
    if kind == "note_received":
        letter = message.letter
        if letter is None or letter.hidden:
            return None
        return (f"{who} sent you a note", snippet(letter.body))
    coffee = message.coffee
    if coffee is None or coffee.hidden:
        return None
    if kind == "coffee_proposed":
        if coffee.state != "proposed" or coffee.proposer_id == attendee.id:
            return None  # answered (or changed hands) before this went out
        times = names([slot_label(event, s.starts_at) for s in coffee.slots])
        where = f" at {coffee.place}" if coffee.place else ""
        return (f"{who} suggests a coffee", f"{times}{where}. Pick one?")
    if coffee.state == "accepted":
        return (f"Coffee with {who}: {slot_label(event, coffee.starts_at)}",
                "It's booked. Add it to your calendar from EventMate.")
    if coffee.state == "declined":
        return (f"{who} can't make those times", "Maybe another week — a short note keeps the door open.")
    if coffee.state == "cancelled":
        return (f"Coffee with {who} is off", "They called it off. You can always suggest another time.")
    return None


def snippet(text: str, limit: int = 140) -> str:
    """The start of a note on one line, for a lock screen."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"


def slot_label(event: Event, moment: datetime) -> str:
    """"Tue 3 Dec, 9:30" in the event's time zone."""
    local = event.local(moment)
    return f"{local:%a} {local.day} {local:%b}, {local.hour}:{local:%M}"


def waiting_prompt_condition(attendee_id, now):
    """The morning prompt of this attendee that is due and not yet dealt with."""
    return sa.and_(Message.attendee_id == attendee_id, Message.kind == "prompt",
                   Message.due_at <= now, Message.state.in_(("pending", "sent")))


#: "Sent it?" answers: how I sent it my own way. In-app sends are counted by `letters.send`.
CONFIRMED_CHANNELS = ("email", "sms", "share", "copy", "confirmed")


def mark_followed_up(session, me: Attendee, subject_id: int, channel: str = "confirmed") -> None:
    """I followed up with one of my three my own way ("Sent it?" — yes)."""
    if channel not in CONFIRMED_CHANNELS:
        channel = "confirmed"
    picked = sa.select(Pick.id).where(Pick.picker_id == me.id, Pick.picked_id == subject_id)
    if session.scalar(picked) is None:
        raise NotFound("That person isn't one of your three.")
    row = FollowUp(event_id=me.event_id, author_id=me.id, subject_id=subject_id, channel=channel,
                   created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # already recorded: pressing twice changes nothing
    session.commit()
    log.info("followed up: event=%s author=%s subject=%s channel=%s", me.event_id, me.id, subject_id, channel)


def email_for(attendee: Attendee, payload: dict, unsubscribe_url: str | None) -> mail.Email:
    """A notification as an email, for someone without a working push subscription."""
    title, body, url = payload["title"], payload["body"], payload["url"]
    event = attendee.event.name
    morning = url.endswith("/follow-up")
    label = "Open your follow-up page" if morning else "Open it in EventMate"
    text = f"{title}\n\n{body}\n\n{label}: {url}\n"
    if unsubscribe_url:
        text += f"\nNo more emails about {event}: {unsubscribe_url}\n"
    html = (f"<p><strong>{escape(title)}</strong></p><p>{escape(body)}</p>"
            f'<p><a href="{escape(url)}">{label}</a></p>')
    if unsubscribe_url:
        html += (f'<p style="color:#666;font-size:13px">No more emails about {escape(event)}? '
                 f'<a href="{escape(unsubscribe_url)}">Unsubscribe</a></p>')
    subject = f"{title}: your follow-ups from {event}" if morning else f"{title} ({event})"
    return mail.Email(to=attendee.email, subject=subject,
                      text=text, html=html, unsubscribe_url=unsubscribe_url)


def unsubscribe_token(secret: str, attendee_id: int) -> str:
    """The signed part of the one-click unsubscribe link in an email."""
    return URLSafeSerializer(secret, salt="eventmate-unsubscribe").dumps(attendee_id)


def unsubscribe_target(session, secret: str, token: str) -> Attendee:
    """Whose emails an unsubscribe link stops; NotFound for a damaged link."""
    try:
        attendee_id = URLSafeSerializer(secret, salt="eventmate-unsubscribe").loads(token)
    except BadSignature:
        attendee_id = None
    attendee = session.get(Attendee, attendee_id) if isinstance(attendee_id, int) else None
    if attendee is None:
        raise NotFound("That unsubscribe link isn't complete. Please copy all of it.")
    return attendee


def unsubscribe(session, secret: str, token: str) -> Attendee:
    """No more email for this attendee (from the link or the mail client's one-click button)."""
    attendee = unsubscribe_target(session, secret, token)
    if attendee.email_opted_out_at is None:
        attendee.email_opted_out_at = clock.now()
        session.commit()
        log.info("email unsubscribed: event=%s attendee=%s", attendee.event_id, attendee.id)
    return attendee
