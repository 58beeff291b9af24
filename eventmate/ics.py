"""Calendar entries for a coffee booked between two attendees after an event.

`calendar_file` builds an iCalendar object (RFC 5545) with one VEVENT, sent as an iTIP
(RFC 5546) REQUEST, or CANCEL once the coffee is off. Times are written as wall-clock
times in the event's zone with a matching VTIMEZONE, so calendars show "19:00 London"
even when the reader is elsewhere. The text, folding, escaping and CRLF line endings all
come from the `icalendar` library (parameter values use RFC 6868 escaping), never from
string formatting here. `google_calendar_link` is the same coffee as a Google Calendar
template link, and `filename` names the download. Pure functions: no Flask, no database.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, available_timezones

from icalendar import Alarm, Calendar, Event, vCalAddress

PRODID = "-//EventMate//Coffee//EN"
GOOGLE_RENDER_URL = "https://calendar.google.com/calendar/render"
ALARM_BEFORE = timedelta(minutes=30)
ALARM_TEXT = "Coffee in 30 minutes"
#: Zones written as UTC ("…Z") with no VTIMEZONE. icalendar itself also writes zones it
#: knows to be equivalent to UTC (GMT, Zulu, …) this way.
UTC_ZONES = frozenset({"UTC", "Etc/UTC"})
_GOOGLE_TIME = "%Y%m%dT%H%M%SZ"
_FILENAME_STEM = 60
# Latin letters NFKD does not take apart into a base letter and accents, and ’.
_ASCII_FOLDS = str.maketrans(
    {
        "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d",
        "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i",
        "\u2019": "'",  # a typographic apostrophe, as in O’Neil
    }
)


@dataclass(frozen=True)
class Party:
    name: str
    email: str | None  # None: no address we may show (then a urn:uuid: address is used)


@dataclass(frozen=True)
class Invite:
    uid: str  # stable per coffee, e.g. "coffee-42-3f9a…@eventmate"
    sequence: int  # 0 first; bumped on every reschedule and on cancel
    starts_at: datetime  # aware, UTC
    minutes: int  # duration, e.g. 45
    timezone: str  # IANA name of the event's zone, e.g. "Europe/London"
    summary: str  # "Coffee: Ana Lima and Ben Ode"
    description: str  # plain text, may contain newlines and any characters
    location: str  # may be "" (then no LOCATION property)
    organizer: Party  # who proposed the accepted time
    attendee: Party  # the other person
    cancelled: bool = False
    stamp: datetime | None = None  # DTSTAMP (aware); default: now in UTC

    def __post_init__(self) -> None:
        if not self.uid.strip():
            raise ValueError("An invite needs a UID.")
        if self.sequence < 0:
            raise ValueError("SEQUENCE cannot be negative.")
        if self.minutes <= 0:
            raise ValueError("A coffee needs a positive number of minutes.")
        _require_aware(self.starts_at, "starts_at")
        if self.stamp is not None:
            _require_aware(self.stamp, "stamp")
        if self.timezone not in _known_zones():
            raise ValueError(f"Unknown time zone: {self.timezone[:64]!r}")


def calendar_file(invite: Invite) -> bytes:
    """An RFC 5545 VCALENDAR with one VEVENT (+ the VTIMEZONE it needs)."""
    calendar = _calendar(invite)
    calendar.add_component(_event(invite))
    start, end = _local_times(invite)
    # The library builds observances from the tz database between these two dates; keep
    # the window near the coffee so the file stays small (the default is 1970–2038).
    calendar.add_missing_timezones(
        first_date=date(max(start.year - 1, 1), 1, 1),
        last_date=date(min(end.year + 2, 9999), 1, 1),
    )
    if calendar.get_missing_tzids():  # add_missing_timezones skips zones it cannot build
        raise ValueError(f"No VTIMEZONE for {invite.timezone!r}")
    return calendar.to_ical()


def google_calendar_link(invite: Invite) -> str:
    """https://calendar.google.com/calendar/render?action=TEMPLATE&… for the same coffee."""
    start = invite.starts_at.astimezone(UTC)
    end = start + timedelta(minutes=invite.minutes)
    params = {
        "action": "TEMPLATE",
        "text": _clean_text(invite.summary),
        "dates": f"{start.strftime(_GOOGLE_TIME)}/{end.strftime(_GOOGLE_TIME)}",
        "details": _clean_text(invite.description),
    }
    location = _clean_text(invite.location)
    if location:
        params["location"] = location
    params["ctz"] = invite.timezone
    return f"{GOOGLE_RENDER_URL}?{urlencode(params, quote_via=quote)}"


def filename(other_name: str) -> str:
    """A safe download name: "coffee-with-ben-ode.ics".

    ASCII, lowercase, hyphens; "coffee.ics" if nothing usable is left of the name.
    """
    ascii_name = (
        unicodedata.normalize("NFKD", other_name.translate(_ASCII_FOLDS))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    ascii_name = re.sub(r"(?<=[A-Za-z])'(?=[A-Za-z])", "", ascii_name)  # O'Neil → oneil
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = slug[:_FILENAME_STEM].rstrip("-")
    return f"coffee-with-{slug}.ics" if slug else "coffee.ics"


def _clean_text(value: str) -> str:
    """Text as iCalendar TEXT may carry it: \\n line breaks, no other control characters.

    CRLF and CR become LF; NUL, BEL, DEL, C1 controls and lone surrogates (which would not
    encode as UTF-8) are dropped. icalendar writes control characters through unchanged.
    """
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) not in ("Cc", "Cs"))


def _address(invite: Invite, party: Party, role: str) -> str:
    """`mailto:` the party's email, or a urn:uuid: that is stable per coffee and per role."""
    email = (party.email or "").strip()
    if email:
        return f"mailto:{email}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{invite.uid}|{role}')}"


def _calendar(invite: Invite) -> Calendar:
    # Calendar() rather than Calendar.new(): .new() also adds a random RFC 7986 UID.
    calendar = Calendar()
    calendar.version = "2.0"
    calendar.prodid = PRODID
    calendar.calscale = "GREGORIAN"
    calendar.method = "CANCEL" if invite.cancelled else "REQUEST"
    return calendar


def _event(invite: Invite) -> Event:
    start, end = _local_times(invite)
    organizer = _cal_address(invite, invite.organizer, "organizer")
    location = _clean_text(invite.location)
    event = Event.new(
        uid=invite.uid,
        sequence=invite.sequence,
        stamp=(invite.stamp or datetime.now(UTC)).astimezone(UTC),
        start=start,
        end=end,
        summary=_clean_text(invite.summary),
        description=_clean_text(invite.description),
        location=location or None,
        status="CANCELLED" if invite.cancelled else "CONFIRMED",
        transparency="OPAQUE",
        organizer=organizer,
        attendees=[
            _attendee(invite, invite.organizer, "organizer"),
            _attendee(invite, invite.attendee, "attendee"),
        ],
    )
    if not invite.cancelled:
        event.add_component(_alarm())
    return event


def _local_times(invite: Invite) -> tuple[datetime, datetime]:
    """Start and end as wall-clock times in the event's zone.

    The end is worked out in UTC first: adding minutes to a local time is wall-clock
    arithmetic in Python, which is wrong across a DST change.
    """
    zone = _zone(invite.timezone)
    start = invite.starts_at.astimezone(UTC)
    end = start + timedelta(minutes=invite.minutes)
    return start.astimezone(zone), end.astimezone(zone)


def _cal_address(invite: Invite, party: Party, role: str) -> vCalAddress:
    cal_address = vCalAddress(_address(invite, party, role))
    name = " ".join(_clean_text(party.name).split())
    if name:
        cal_address.params["CN"] = name
    return cal_address


def _attendee(invite: Invite, party: Party, role: str) -> vCalAddress:
    attendee = _cal_address(invite, party, role)
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    attendee.params["PARTSTAT"] = "ACCEPTED"
    attendee.params["RSVP"] = "FALSE"
    return attendee


def _alarm() -> Alarm:
    alarm = Alarm.new(description=ALARM_TEXT)
    alarm.add("ACTION", "DISPLAY")
    alarm.TRIGGER = -ALARM_BEFORE
    return alarm


def _zone(name: str) -> tzinfo:
    return UTC if name in UTC_ZONES else ZoneInfo(name)


def _require_aware(moment: datetime, label: str) -> None:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{label} must be a timezone-aware datetime.")


@cache
def _known_zones() -> frozenset[str]:
    # Checked before ZoneInfo(): a very long name raises OSError there, not a lookup error.
    return frozenset(available_timezones())
