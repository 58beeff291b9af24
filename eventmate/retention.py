"""Keeping attendee data no longer than promised, and deleting an event.

Each event's attendee data is deleted at its `purge_after` (its end plus
EVENTMATE_RETENTION_DAYS, fixed when the event is saved and shown to attendees at check-in)
by the worker's pass (`flask worker`, `flask send-prompts`). The event stays, with the
dashboard's numbers kept as numbers (`Event.summary`), so the organiser still sees how the
night went. An organiser can also delete an event and everything in it at once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import timedelta

import sqlalchemy as sa

from . import clock, dashboard
from .errors import ValidationFailed
from .models import Attendee, Device, DeviceAttendee, Event

log = logging.getLogger("eventmate.actions")

#: A device younger than this is never swept as empty: its first attendee may be on the way.
EMPTY_DEVICE_GRACE = timedelta(hours=1)


def _snapshot(session, event: Event) -> str:
    counters = dashboard.live(session, event)
    funnel = dashboard.funnel(session, event, counters)
    line = dashboard.timeline(session, event)
    return json.dumps({
        "live": asdict(counters),
        "funnel": {"steps": [[s.key, s.label, s.count, s.of] for s in funnel.steps],
                   "prompts_by_channel": funnel.prompts_by_channel, "notes_sent": funnel.notes_sent,
                   "coffees_proposed": funnel.coffees_proposed, "coffees_accepted": funnel.coffees_accepted},
        "timeline": {"minutes": line.minutes,
                     "bars": [[b.starts_at.isoformat(), b.arrivals] for b in line.bars]},
    })


def kept(event: Event) -> tuple[dashboard.Live, dashboard.Timeline, dashboard.Funnel] | None:
    """The numbers kept when the event's attendee data was purged (None: not purged)."""
    if not event.summary:
        return None
    data = json.loads(event.summary)
    funnel = data["funnel"]
    return (dashboard.Live(**data["live"]),
            dashboard.Timeline(minutes=data["timeline"]["minutes"], bars=tuple(
                dashboard.Bar(clock.parse_iso(at), n) for at, n in data["timeline"]["bars"])),
            dashboard.Funnel(steps=tuple(dashboard.Step(*step) for step in funnel["steps"]),
                             prompts_by_channel=funnel["prompts_by_channel"], notes_sent=funnel["notes_sent"],
                             coffees_proposed=funnel["coffees_proposed"],
                             coffees_accepted=funnel["coffees_accepted"]))


def _delete_people(session, event_id: int) -> int:
    """Delete every attendee of an event (their picks, notes, letters, coffees, messages and
    device links go with them: ON DELETE CASCADE), then devices left holding nobody."""
    devices = sa.select(DeviceAttendee.device_id).join(Attendee, Attendee.id == DeviceAttendee.attendee_id) \
        .where(Attendee.event_id == event_id)
    touched = list(session.scalars(devices))
    gone = session.execute(sa.delete(Attendee).where(Attendee.event_id == event_id)).rowcount
    if touched:
        held = sa.select(DeviceAttendee.device_id).where(DeviceAttendee.device_id == Device.id).exists()
        session.execute(sa.delete(Device).where(Device.id.in_(touched), ~held),
                        execution_options={"synchronize_session": False})
    return gone


def purge(session, event: Event) -> int:
    """Delete the event's attendee data now, keeping its numbers. Commits; how many people.

    The event is claimed first (a conditional UPDATE), so two workers purging at once do it
    once: the second finds it claimed and leaves the first one's numbers alone."""
    claimed = session.execute(sa.update(Event).where(Event.id == event.id, Event.purged_at.is_(None))
                              .values(purged_at=clock.now()),
                              execution_options={"synchronize_session": False}).rowcount
    if not claimed:
        session.rollback()
        return 0
    summary = _snapshot(session, event)  # in the claiming transaction, before any deletion
    gone = _delete_people(session, event.id)
    session.execute(sa.update(Event).where(Event.id == event.id).values(summary=summary),
                    execution_options={"synchronize_session": False})
    session.commit()
    log.info("attendee data purged: event=%s attendees=%s", event.id, gone)
    return gone


def purge_due(session) -> int:
    """Purge every event whose promised date has passed. Returns how many events."""
    due = session.scalars(sa.select(Event).where(Event.purge_after <= clock.now(), Event.purged_at.is_(None))
                          .order_by(Event.purge_after)).all()
    for event in due:
        purge(session, event)
    # Devices nobody has held for a while (every attendee signed out, deleted or purged).
    old_and_empty = sa.and_(Device.created_at < clock.now() - EMPTY_DEVICE_GRACE,
                            ~sa.select(DeviceAttendee.device_id).where(DeviceAttendee.device_id == Device.id)
                            .exists())
    session.execute(sa.delete(Device).where(old_and_empty), execution_options={"synchronize_session": False})
    session.commit()
    return len(due)


def delete_event(session, event: Event, typed_name: str) -> None:
    """Delete an event and all its attendee data, once its name is typed to confirm. Commits."""
    if " ".join((typed_name or "").split()).casefold() != " ".join(event.name.split()).casefold():
        raise ValidationFailed({"confirm_name": f"Type the event's name, {event.name}, to delete it."})
    event_id = event.id
    _delete_people(session, event_id)
    session.execute(sa.delete(Event).where(Event.id == event_id))
    session.commit()
    log.info("event deleted: event=%s", event_id)
