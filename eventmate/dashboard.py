"""What an organiser sees of an event: the live night and the morning after, as numbers.

Aggregates only. Nothing here returns a note, a drafted message, or who picked whom: pairs
are counted, never listed. Every function costs a fixed number of queries, whatever the
size of the room (tests count them with 10 and 2,000 attendees).
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from . import clock
from .devices import SUBSCRIPTION_LIFETIME
from .followup import FOLLOW_UP_WINDOW
from .models import Attendee, Coffee, DeviceAttendee, Event, FollowUp, Message, Pick, PushSubscription

#: Arrivals are counted per bucket; a long event gets wider buckets so the chart stays readable.
BUCKETS = (5, 10, 15, 30, 60, 120, 240, 720, 1440)
MAX_BARS = 48


@dataclass
class Poll:
    """One version of an event's live fragment: its ETag, and its HTML once rendered."""

    tag: str
    body: str | None


@dataclass(frozen=True)
class Live:
    """How the night is going right now."""

    checked_in: int
    here_now: int
    picked_one: int
    picked_three: int
    mutual_pairs: int
    push_opted_in: int
    registered: int = 0  # imported before the evening (Eventbrite, Luma, a CSV)
    registered_came: int = 0  # of them, checked in


@dataclass(frozen=True)
class Bar:
    starts_at: datetime
    arrivals: int


@dataclass(frozen=True)
class Timeline:
    minutes: int  # bucket width
    bars: tuple[Bar, ...]

    @property
    def peak(self) -> int:
        return max((b.arrivals for b in self.bars), default=0)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    count: int
    of: int  # the whole: people checked in

    @property
    def percent(self) -> int:
        return round(100 * self.count / self.of) if self.of else 0


@dataclass(frozen=True)
class Funnel:
    steps: tuple[Step, ...]
    prompts_by_channel: dict  # 'push' | 'email' | 'app' → prompts delivered that way
    notes_sent: int  # people followed up with, all told (one per author and person)
    coffees_proposed: int
    coffees_accepted: int


def _count(query) -> sa.ScalarSelect:
    return query.scalar_subquery()


def live(session, event: Event) -> Live:
    """The live counters, in one query."""
    return live_and_span(session, event)[0]


def live_and_span(session, event: Event) -> tuple[Live, datetime | None, datetime | None]:
    """The live counters and the first and last arrival, in one query: together they change
    whenever the page would (the chart is made of the arrivals), so a poll can answer 304
    from them without reading every arrival."""
    e = event.id
    checked = sa.and_(Attendee.event_id == e, Attendee.checked_in_at.is_not(None))
    imported = sa.and_(Attendee.event_id == e, Attendee.imported_at.is_not(None),
                       Attendee.deleted_at.is_(None))
    per_picker = (sa.select(Pick.picker_id, sa.func.count().label("n")).where(Pick.event_id == e)
                  .group_by(Pick.picker_id).subquery())
    back = aliased(Pick)
    mutual = (sa.select(sa.func.count()).select_from(Pick)
              .join(back, sa.and_(back.picker_id == Pick.picked_id, back.picked_id == Pick.picker_id))
              .where(Pick.event_id == e, Pick.picker_id < Pick.picked_id))
    pushed = (sa.select(sa.func.count(sa.distinct(DeviceAttendee.attendee_id)))
              .join(Attendee, Attendee.id == DeviceAttendee.attendee_id)
              .join(PushSubscription, PushSubscription.device_id == DeviceAttendee.device_id)
              .where(Attendee.event_id == e,
                     PushSubscription.confirmed_at > clock.now() - SUBSCRIPTION_LIFETIME))
    row = session.execute(sa.select(
        _count(sa.select(sa.func.count()).select_from(Attendee).where(checked)),
        _count(sa.select(sa.func.count()).select_from(Attendee).where(checked, Attendee.left_at.is_(None))),
        _count(sa.select(sa.func.count()).select_from(per_picker)),
        _count(sa.select(sa.func.count()).select_from(per_picker).where(per_picker.c.n >= 3)),
        _count(mutual),
        _count(pushed),
        _count(sa.select(sa.func.count()).select_from(Attendee).where(imported)),
        _count(sa.select(sa.func.count()).select_from(Attendee).where(imported, checked)),
        _count(sa.select(sa.func.min(Attendee.checked_in_at)).where(checked)),
        _count(sa.select(sa.func.max(Attendee.checked_in_at)).where(checked)),
    )).one()
    return Live(*(int(v or 0) for v in row[:-2])), _utc(row[-2]), _utc(row[-1])


def _utc(value):
    """min()/max() of a UTC column come back naive on SQLite."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def timeline(session, event: Event) -> Timeline:
    """Arrivals per bucket (5 minutes, wider for long events), from the first arrival to the
    last (or to now, while check-in is open). One query; empty when nobody came yet."""
    times = list(session.scalars(sa.select(Attendee.checked_in_at).where(
        Attendee.event_id == event.id, Attendee.checked_in_at.is_not(None)).order_by(Attendee.checked_in_at)))
    if not times:
        return Timeline(minutes=BUCKETS[0], bars=())
    first = times[0]
    last = max(times[-1], clock.now()) if event.is_checkin_open(clock.now()) else times[-1]
    span = (last - first).total_seconds() / 60
    minutes = next((m for m in BUCKETS if span / m < MAX_BARS), BUCKETS[-1])
    local_first = first.astimezone(event.zone)
    # Buckets start on the clock face (19:05, not 19:03), in the event's zone.
    floor = local_first.replace(minute=local_first.minute - local_first.minute % min(minutes, 60),
                                second=0, microsecond=0)
    if minutes > 60:  # whole hours: 2, 4 or 12 at a time, or whole days
        hours = min(minutes // 60, 24)
        floor = floor.replace(minute=0, hour=floor.hour - floor.hour % hours)
    start = floor.astimezone(first.tzinfo)
    width = timedelta(minutes=minutes)
    count = int((last - start) / width) + 1
    arrivals = [0] * count
    for moment in times:
        arrivals[min(int((moment - start) / width), count - 1)] += 1
    return Timeline(minutes=minutes, bars=tuple(Bar(start + i * width, n) for i, n in enumerate(arrivals)))


def funnel(session, event: Event, counters: Live | None = None) -> Funnel:
    """The morning after: checked in → picked → prompted → followed up (within 24 h) → coffee.
    Four queries (the live counters, prompts, follow-ups, coffees)."""
    counters = counters or live(session, event)
    prompts = dict(session.execute(
        sa.select(Message.channel, sa.func.count()).where(
            Message.event_id == event.id, Message.kind == "prompt", Message.state == "sent")
        .group_by(Message.channel)).all())
    firsts = (sa.select(FollowUp.author_id, sa.func.min(FollowUp.created_at).label("first"))
              .where(FollowUp.event_id == event.id).group_by(FollowUp.author_id).subquery())
    pairs = (sa.select(FollowUp.author_id, FollowUp.subject_id).where(FollowUp.event_id == event.id)
             .distinct().subquery())
    deadline = event.ends_at + FOLLOW_UP_WINDOW
    followed, in_time, notes = session.execute(sa.select(
        _count(sa.select(sa.func.count()).select_from(firsts)),
        _count(sa.select(sa.func.count()).select_from(firsts).where(firsts.c.first <= deadline)),
        _count(sa.select(sa.func.count()).select_from(pairs)),
    )).one()
    proposed, accepted = session.execute(sa.select(
        sa.func.count(), sa.func.count().filter(Coffee.state == "accepted"),
    ).where(Coffee.event_id == event.id)).one()
    whole = counters.checked_in
    delivered = sum(n for channel, n in prompts.items() if channel)
    steps = (
        Step("checked_in", "Checked in", whole, whole),
        Step("picked_one", "Chose at least one person", counters.picked_one, whole),
        Step("picked_three", "Chose three", counters.picked_three, whole),
        Step("prompted", "Got the morning prompt", delivered, whole),
        Step("followed_up", "Followed up", int(followed or 0), whole),
        Step("in_time", "…within 24 hours of the end", int(in_time or 0), whole),
    )
    return Funnel(steps=steps, prompts_by_channel={k: v for k, v in prompts.items() if k},
                  notes_sent=int(notes or 0), coffees_proposed=int(proposed or 0),
                  coffees_accepted=int(accepted or 0))


def etag(*parts) -> str:
    """A validator for what the dashboard shows: equal numbers, equal tag."""
    flat = []
    for part in parts:
        flat.extend(astuple(part) if hasattr(part, "__dataclass_fields__") else (part,))
    return hashlib.sha256(repr(flat).encode()).hexdigest()[:32]


def headline(session, events: list[Event]) -> dict[int, int]:
    """Checked-in counts for a list of events, in one query."""
    if not events:
        return {}
    rows = session.execute(sa.select(Attendee.event_id, sa.func.count()).where(
        Attendee.event_id.in_([e.id for e in events]), Attendee.checked_in_at.is_not(None))
        .group_by(Attendee.event_id)).all()
    return dict(rows)
