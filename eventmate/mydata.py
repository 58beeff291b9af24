"""An attendee's data rights: download everything they own at an event, and delete it.

`export` is everything the attendee owns at one event, as plain data (served as JSON);
`vcards` is their three as contact cards, with only the contact details those people shared
with them (the contact rule). `delete` removes their profile, picks (and the record of the
pick changes their phone sent), notes, follow-ups, notifications, devices and push
subscriptions, and keeps the attendee row as a scrubbed tombstone: notes others wrote about
them, notes they already sent and accepted coffees stay with the other person (DESIGN: with
composite keys, "set null" would be a trap).
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime

import sqlalchemy as sa

from . import clock, contact, devices, letters, picks, tokens
from .models import (
    Attendee,
    Coffee,
    FollowUp,
    Letter,
    Message,
    Mute,
    Note,
    Pick,
    PickChange,
)

log = logging.getLogger("eventmate.actions")

#: What others see where a deleted attendee's name was.
TOMBSTONE_NAME = "Former guest"
FORMAT = "eventmate-attendee-export/1"


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _name(session, cache: dict[int, str], attendee_id: int) -> str:
    if attendee_id not in cache:
        cache[attendee_id] = session.get(Attendee, attendee_id).name
    return cache[attendee_id]


def export(session, me: Attendee, credential: str | None = None) -> dict:
    """Everything `me` owns at their event, as JSON-ready data. Others appear by name only,
    with the contact details they shared with me — never their email or notes."""
    event = me.event
    names: dict[int, str] = {me.id: me.name}
    three = picks.my_three(session, me)
    my_notes = session.scalars(sa.select(Note).where(Note.author_id == me.id).order_by(Note.id)).all()
    sent_or_received = session.scalars(
        sa.select(Letter).where(sa.or_(Letter.sender_id == me.id,
                                       sa.and_(Letter.recipient_id == me.id, Letter.hidden.is_(False))))
        .order_by(Letter.created_at, Letter.id)
    ).all()
    coffees = session.scalars(
        sa.select(Coffee).where(sa.or_(Coffee.low_id == me.id, Coffee.high_id == me.id),
                                sa.or_(Coffee.hidden.is_(False), Coffee.proposer_id == me.id))
        .order_by(Coffee.id)
    ).all()
    follow_ups = session.scalars(
        sa.select(FollowUp).where(FollowUp.author_id == me.id).order_by(FollowUp.id)).all()
    messages = session.scalars(
        sa.select(Message).where(Message.attendee_id == me.id).order_by(Message.id)).all()
    mutes = session.scalars(sa.select(Mute).where(Mute.muter_id == me.id)).all()
    return {
        "format": FORMAT,
        "exported_at": _when(clock.now()),
        "event": {"name": event.name, "venue": event.venue, "starts_at": _when(event.starts_at),
                  "ends_at": _when(event.ends_at), "timezone": event.timezone},
        "you": {"name": me.name, "what_i_do": me.what_i_do, "how_i_help": me.how_i_help,
                "looking_for": me.looking_for, "email": me.email, "contact": me.contact,
                "checked_in_at": _when(me.checked_in_at), "left_at": _when(me.left_at),
                "email_opted_out_at": _when(me.email_opted_out_at)},
        "your_three": [{"name": c.person.name, "what_they_do": c.person.what_i_do,
                        "chosen_at": _when(c.pick.created_at), "chose_you_too": c.is_mutual,
                        "contact_shared_with_you": letters.shared_contact(session, me, c.person)}
                       for c in three],
        "chose_you": [{"name": c.person.name, "chosen_at": _when(c.pick.created_at),
                       "contact_shared_with_you": c.shared_contact}
                      for c in picks.chose_me(session, me)],
        "your_notes": [{"about": _name(session, names, n.subject_id), "working_on": n.working_on,
                        "needs": n.needs, "offer": n.offer, "personal": n.personal,
                        "updated_at": _when(n.updated_at)} for n in my_notes],
        "notes_sent_and_received": [
            {"from": _name(session, names, x.sender_id), "to": _name(session, names, x.recipient_id),
             "body": x.body, "sent_at": _when(x.created_at), "read_at": _when(x.read_at)}
            for x in sent_or_received],
        "followed_up": [{"with": _name(session, names, f.subject_id), "how": f.channel,
                         "at": _when(f.created_at)} for f in follow_ups],
        "coffees": [{"with": _name(session, names, c.other(me.id)), "state": c.state,
                     "proposed_by_you": c.proposer_id == me.id, "place": c.place,
                     "time": _when(c.starts_at), "times_on_the_table": [_when(s.starts_at) for s in c.slots],
                     "updated_at": _when(c.updated_at)} for c in coffees],
        "muted": [_name(session, names, m.muted_id) for m in mutes],
        "notifications": [{"kind": m.kind, "due_at": _when(m.due_at), "state": m.state,
                           "sent_at": _when(m.sent_at), "channel": m.channel} for m in messages],
        "devices": [{"name": d.label, "signed_in_at": _when(d.signed_in_at),
                     "last_seen_at": _when(d.last_seen_at), "this_device": d.this_one,
                     "push_notifications": d.push}
                    for d in devices.signed_in(session, me, credential)],
    }


# --- vCard (RFC 6350 syntax, VERSION 3.0 for the widest phone support) ------------------

def _escape(value: str) -> str:
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return re.sub(r"\r\n|\r|\n", "\\\\n", value)


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with CRLF + space, never splitting a character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        limit = 75 if not out else 74  # a continuation line starts with one space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _card(person: Attendee, shared: str | None, event_name: str, met_on: str) -> list[str]:
    given, _, family = person.name.strip().rpartition(" ")
    if not given:  # one word: that is the given name
        given, family = family, ""
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{_escape(person.name)}",
             f"N:{_escape(family)};{_escape(given)};;;"]
    emails, phones = contact.addresses(shared)
    lines += [f"EMAIL;TYPE=INTERNET:{_escape(e)}" for e in emails]
    lines += [f"TEL:{_escape(p)}" for p in phones]
    note = f"Met at {event_name} on {met_on}."
    if person.what_i_do:
        note += f" {person.what_i_do}"
    if shared:
        note += f"\nContact: {shared}"
    lines += [f"NOTE:{_escape(note)}", "END:VCARD"]
    return lines


def vcards(session, me: Attendee) -> str:
    """My three as vCards: name, what they do, and only the contact details they shared
    with me (an email or phone becomes a field; the rest stays in the note)."""
    event = me.event
    met_on = event.starts_at.astimezone(event.zone).strftime("%-d %B %Y")
    lines: list[str] = []
    for chosen in picks.my_three(session, me):
        lines += _card(chosen.person, letters.shared_contact(session, me, chosen.person), event.name, met_on)
    return "".join(_fold(line) + "\r\n" for line in lines)


# --- deleting my data --------------------------------------------------------------------

def delete(session, me: Attendee) -> None:
    """Delete everything `me` owns at the event, in one transaction, and sign every device
    out. Commits. What stays is what belongs to others: their notes about me, notes I sent
    them, accepted coffees (a proposal of mine or one still being agreed is cancelled, so a
    calendar holding its earlier time gets a CANCEL)."""
    if me.deleted_at is not None:
        return
    now = clock.now()
    session.execute(sa.delete(Pick).where(Pick.picker_id == me.id))
    session.execute(sa.delete(PickChange).where(PickChange.attendee_id == me.id))  # whom I picked, when
    session.execute(sa.delete(Note).where(Note.author_id == me.id))  # note saves cascade
    session.execute(sa.delete(FollowUp).where(FollowUp.author_id == me.id))
    session.execute(sa.delete(Mute).where(Mute.muter_id == me.id))
    session.execute(sa.delete(Message).where(Message.attendee_id == me.id))  # deliveries cascade
    open_invitations = sa.select(Coffee).where(sa.or_(Coffee.low_id == me.id, Coffee.high_id == me.id),
                                               Coffee.state == "proposed")
    for coffee in session.scalars(open_invitations):
        coffee.sequence += 1 if coffee.starts_at is not None else 0
        coffee.state, coffee.version, coffee.updated_at = "cancelled", coffee.version + 1, now
    signed_out = devices.sign_out_all(session, me)
    me.name, me.what_i_do, me.how_i_help, me.looking_for = TOMBSTONE_NAME, "", "", ""
    me.email = me.contact = None
    me.checkin_token_hash = me.checkin_seal = None
    me.return_code_hash = tokens.digest(secrets.token_urlsafe(32))  # no code opens it again
    me.pickme_token = secrets.token_hex(16)
    me.search_text = ""
    me.left_at = me.left_at or now
    me.legacy_cookie_ok = False
    me.deleted_at = now
    session.commit()
    log.info("attendee data deleted: event=%s attendee=%s devices=%s", me.event_id, me.id, signed_out)
