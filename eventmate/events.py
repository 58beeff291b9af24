"""Events: create, edit, the poster's check-in key, opening and closing check-in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock, followup, tokens
from .errors import NotFound, ValidationFailed
from .models import CoOrganiser, Event, Organiser
from .validation import Fields

log = logging.getLogger("eventmate.actions")

SLUG_LENGTH = 6
KEY_LENGTH = 16  # 80 bits
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@cache
def all_zones() -> frozenset[str]:
    return frozenset(available_timezones())


#: Names in the zone database that are not a place: fixed offsets and the database's own folders.
NOT_PLACES = ("Etc/", "posix/", "right/")
#: Events are planned up to this many years ahead, and edited up to a year back.
YEARS_BACK, YEARS_AHEAD = 1, 5


def is_event_zone(name: str) -> bool:
    """A real region/city ("Europe/London"), or UTC. Not `localtime` or `Factory`: what those
    mean depends on the machine, not on where the event is."""
    return name in all_zones() and (name == "UTC" or ("/" in name and not name.startswith(NOT_PLACES)))


@cache
def time_zones() -> list[str]:
    """IANA zone names people pick from ("Europe/Paris"), without legacy aliases; and UTC."""
    legacy = (*NOT_PLACES, "SystemV/", "US/")
    return sorted(z for z in all_zones() if is_event_zone(z) and not z.startswith(legacy))


def event_years() -> tuple[int, int]:
    """The first and last year an event may be in: last year to five years from now."""
    year = clock.now().year
    return year - YEARS_BACK, year + YEARS_AHEAD


def zone_label(name: str, moment: datetime | None = None) -> str:
    """"Europe/Paris" → "Paris (CET, UTC+01:00)" at `moment`."""
    local = (moment or clock.now()).astimezone(ZoneInfo(name))
    offset = local.strftime("%z")
    place = name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{place} ({local.tzname()}, UTC{offset[:3]}:{offset[3:]})"


def _parse_local(fields: Fields, name: str, label: str, zone: ZoneInfo | None,
                 kept: datetime | None = None) -> datetime | None:
    """A local date and time from the form, in a sane year.

    `kept` is what an edited event says now: an old event keeps its dates when edited.
    """
    raw = (fields.data.get(name) or "").strip()
    if not raw:
        fields.error(name, f"Please choose {label}.")
        return None
    try:
        naive = datetime.strptime(raw[:16], LOCAL_FORMAT)
    except ValueError:
        fields.error(name, f"Please give {label} as a date and time, like 2026-05-14T18:30.")
        return None
    fields.values[name] = raw[:16]
    moment = naive.replace(tzinfo=zone) if zone else None
    if moment is not None and not _exists_once(moment):
        place = zone.key.split("/")[-1].replace("_", " ")
        if _exists(moment):
            fields.error(name, f"{naive:%H:%M} happens twice that night in {place} (the clocks go back). "
                               "Please choose a time outside that hour.")
        else:
            fields.error(name, f"{naive:%H:%M} doesn't exist that night in {place} (the clocks go forward). "
                               "Please choose another time.")
        return None
    first, last = event_years()
    # Year 1 or 26 would save, then fail to show (no UTC for 0001 in Tokyo, "26-05-14" in forms).
    if not first <= naive.year <= last and (moment is None or moment != kept):
        fields.error(name, f"Please choose a date between {first} and {last}.")
        return None
    return moment


def _exists(moment: datetime) -> bool:
    """The wall-clock time really happens in its zone (not skipped when clocks go forward)."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _exists_once(moment: datetime) -> bool:
    """It happens, and only once (not in the repeated hour when clocks go back)."""
    return _exists(moment) and moment.replace(fold=0).utcoffset() == moment.replace(fold=1).utcoffset()


def _read_event(data: dict, event: Event | None = None) -> dict:
    """Validate the event form (for `event` when editing); returns model values or raises
    ValidationFailed."""
    fields = Fields(data)
    name = fields.text("name", "the event's name", max_len=120)
    venue = fields.text("venue", "the venue", max_len=200)
    zone = None
    tz_name = (data.get("timezone") or "").strip()
    fields.values["timezone"] = tz_name
    if not tz_name:
        fields.error("timezone", "Please choose the time zone the event happens in.")
    else:
        try:
            # Known places only, checked first: ZoneInfo("A" * 300) raises OSError (file name
            # too long), not ZoneInfoNotFoundError.
            if not is_event_zone(tz_name):
                raise ZoneInfoNotFoundError(tz_name)
            zone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
            fields.error("timezone", "We don't know that time zone. Try a city, like Europe/London.")
    starts = _parse_local(fields, "starts_local", "when it starts", zone, event and event.starts_at)
    ends = _parse_local(fields, "ends_local", "when it ends", zone, event and event.ends_at)
    if starts and ends and ends.astimezone(UTC) <= starts.astimezone(UTC):
        fields.error("ends_local", "The end needs to be after the start.")
    raw_hour = str(data.get("prompt_hour", "9")).strip() or "9"
    fields.values["prompt_hour"] = raw_hour
    try:
        prompt_hour = int(raw_hour)
        if not 0 <= prompt_hour <= 23:
            raise ValueError
    except ValueError:
        prompt_hour = None
        fields.error("prompt_hour", "Please choose an hour between 00:00 and 23:00.")
    if fields.errors:
        raise ValidationFailed(fields.errors)
    return {
        "name": name,
        "venue": venue,
        "timezone": tz_name,
        "starts_at": starts,
        "ends_at": ends,
        "prompt_hour": prompt_hour,
    }


def form_values(event: Event) -> dict:
    """The event as the edit form shows it, in the event's own time zone."""
    return {
        "name": event.name,
        "venue": event.venue,
        "timezone": event.timezone,
        # isoformat, not strftime: it writes year 26 as "0026", which the form can read back.
        "starts_local": event.local(event.starts_at).isoformat(timespec="minutes")[:16],
        "ends_local": event.local(event.ends_at).isoformat(timespec="minutes")[:16],
        "prompt_hour": str(event.prompt_hour),
    }


#: Days after an event's end that its attendee data is kept (EVENTMATE_RETENTION_DAYS).
DEFAULT_RETENTION_DAYS = 90


def create_event(session, organiser: Organiser, data: dict,
                 retention_days: int = DEFAULT_RETENTION_DAYS) -> Event:
    """Create an event owned by `organiser` from form data. Its attendee data will be
    deleted `retention_days` after it ends."""
    values = _read_event(data)
    values["purge_after"] = values["ends_at"] + timedelta(days=retention_days)
    for _ in range(5):
        event = Event(
            organiser_id=organiser.id,
            slug=tokens.random_code(SLUG_LENGTH).lower(),
            checkin_key=tokens.random_code(KEY_LENGTH).lower(),
            checkin_mode="auto",
            created_at=clock.now(),
            **values,
        )
        session.add(event)
        try:
            session.commit()
        except IntegrityError as error:  # slug collision: astronomically rare, try another
            session.rollback()
            if "slug" not in str(error.orig):
                raise  # any other constraint is a bug to see, not a slug to retry
            continue
        log.info("event created: organiser=%s event=%s", organiser.id, event.id)
        return event
    raise RuntimeError("could not find a free event slug")


def update_event(session, event: Event, data: dict) -> Event:
    """Change an event from form data; the morning prompt follows its new times."""
    values = _read_event(data, event)
    if event.purge_after is not None:  # the same span after the (new) end as promised
        values["purge_after"] = values["ends_at"] + (event.purge_after - event.ends_at)
    for key, value in values.items():
        setattr(event, key, value)
    followup.reschedule_event(session, event)
    session.commit()
    log.info("event updated: event=%s", event.id)
    return event


def _runs(organiser: Organiser):
    """Events this organiser owns or co-organises (a condition on Event)."""
    co = sa.select(CoOrganiser.event_id).where(CoOrganiser.organiser_id == organiser.id)
    return sa.or_(Event.organiser_id == organiser.id, Event.id.in_(co))


def events_of(session, organiser: Organiser) -> list[Event]:
    """The events the organiser owns or co-organises, latest first."""
    return list(session.scalars(sa.select(Event).where(_runs(organiser)).order_by(Event.starts_at.desc())))


def event_for_organiser(session, organiser: Organiser, event_id: int, owner_only: bool = False) -> Event:
    """An event the organiser owns (or, unless `owner_only`, co-organises); NotFound otherwise
    — the same for a missing event and someone else's."""
    event = session.scalar(sa.select(Event).where(
        Event.id == event_id, Event.organiser_id == organiser.id if owner_only else _runs(organiser)))
    if event is None:
        raise NotFound()
    return event


def team(session, event: Event) -> list[Organiser]:
    """The organisers who run the event with its owner, in the order they were added."""
    return list(session.scalars(
        sa.select(Organiser).join(CoOrganiser, CoOrganiser.organiser_id == Organiser.id)
        .where(CoOrganiser.event_id == event.id).order_by(CoOrganiser.created_at, Organiser.id)))


class NoAccountYet(ValidationFailed):
    """Nobody has an organiser account with this email: invite them to sign up instead."""

    def __init__(self, email: str):
        super().__init__({})
        self.email = email


def add_co_organiser(session, event: Event, email: str) -> Organiser:
    """Let the organiser with this email run the event too. Commits."""
    fields = Fields({"email": email})
    address = fields.email("email", required=True)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    found = session.scalar(sa.select(Organiser).where(sa.func.lower(Organiser.email) == address.lower()))
    if found is None:
        raise NoAccountYet(address)
    if found.id == event.organiser_id:
        raise ValidationFailed({"email": "That's the event's owner: they run it already."})
    try:
        with session.begin_nested():
            session.add(CoOrganiser(event_id=event.id, organiser_id=found.id, created_at=clock.now()))
    except IntegrityError:
        pass  # already on the team: the same answer
    session.commit()
    log.info("co-organiser added: event=%s organiser=%s", event.id, found.id)
    return found


def remove_co_organiser(session, event: Event, organiser_id: int) -> None:
    session.execute(sa.delete(CoOrganiser).where(CoOrganiser.event_id == event.id,
                                                 CoOrganiser.organiser_id == organiser_id))
    session.commit()
    log.info("co-organiser removed: event=%s organiser=%s", event.id, organiser_id)


def rotate_checkin_key(session, event: Event) -> None:
    """New poster key: every printed poster with the old one stops working."""
    event.checkin_key = tokens.random_code(KEY_LENGTH).lower()
    session.commit()
    log.info("check-in key rotated: event=%s", event.id)


def set_checkin_mode(session, event: Event, mode: str) -> None:
    if mode not in ("auto", "open", "closed"):
        raise ValidationFailed({"mode": "Unknown check-in setting."})
    event.checkin_mode = mode
    session.commit()
    log.info("check-in mode set: event=%s mode=%s", event.id, mode)


def checkin_path(event: Event) -> str:
    return f"/c/{event.slug}/{event.checkin_key}"
