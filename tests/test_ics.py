"""The calendar side of a booked coffee: .ics bytes parsed back, the Google link, the file name."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar, Event, vCalAddress

from eventmate.ics import Invite, Party, calendar_file, filename, google_calendar_link

ANA = Party("Ana Lima", "ana@example.org")
BEN = Party("Ben Ode", "ben@example.org")
TRICKY = 'Zoë "Z" O\'Neil, PhD; Ltd'
SUMMER = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
STAMP = datetime(2026, 6, 30, 21, 15, tzinfo=UTC)


def make(**changes) -> Invite:
    invite = Invite(
        uid="coffee-42-3f9a0c@eventmate",
        sequence=0,
        starts_at=SUMMER,
        minutes=45,
        timezone="Europe/London",
        summary="Coffee: Ana Lima and Ben Ode",
        description="Met at the EventMate evening.",
        location="Flat White, 17 Berwick St, London",
        organizer=ANA,
        attendee=BEN,
        stamp=STAMP,
    )
    return dataclasses.replace(invite, **changes)


def parse(invite: Invite) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(calendar_file(invite))
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def attendees(event: Event) -> dict[str, vCalAddress]:
    """ATTENDEE values by CN."""
    values = event.get("ATTENDEE")
    values = values if isinstance(values, list) else [values]
    return {value.params["CN"]: value for value in values}


def urn(uid: str, role: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{uid}|{role}')}"


# --- the calendar ----------------------------------------------------------------------


def test_calendar_properties_and_one_event():
    calendar, event = parse(make())
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//EventMate//Coffee//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert "UID" not in calendar  # no random calendar-level UID sneaks in
    assert str(event["UID"]) == "coffee-42-3f9a0c@eventmate"
    assert event["SEQUENCE"] == 0
    assert str(event["SUMMARY"]) == "Coffee: Ana Lima and Ben Ode"
    assert str(event["LOCATION"]) == "Flat White, 17 Berwick St, London"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["TRANSP"]) == "OPAQUE"
    assert event.DTSTAMP == STAMP


def test_same_invite_gives_the_same_bytes():
    assert calendar_file(make()) == calendar_file(make())


@pytest.mark.parametrize(
    ("zone", "starts_at", "wall", "offset"),
    [
        ("Europe/London", datetime(2026, 7, 1, 18, 0, tzinfo=UTC), datetime(2026, 7, 1, 19, 0), 60),
        ("Europe/London", datetime(2026, 1, 15, 18, 0, tzinfo=UTC), datetime(2026, 1, 15, 18, 0), 0),
        ("America/New_York", datetime(2026, 11, 10, 23, 30, tzinfo=UTC), datetime(2026, 11, 10, 18, 30), -300),
        ("America/New_York", datetime(2026, 6, 10, 23, 30, tzinfo=UTC), datetime(2026, 6, 10, 19, 30), -240),
        ("Asia/Kolkata", datetime(2026, 3, 5, 12, 0, tzinfo=UTC), datetime(2026, 3, 5, 17, 30), 330),
    ],
)
def test_local_wall_time_with_tzid_and_vtimezone(zone, starts_at, wall, offset):
    invite = make(timezone=zone, starts_at=starts_at)
    raw = calendar_file(invite).decode()
    assert f"DTSTART;TZID={zone}:{wall:%Y%m%dT%H%M%S}\r\n" in raw
    calendar, event = parse(invite)
    start, end = event["DTSTART"], event["DTEND"]
    assert start.params["TZID"] == zone
    assert end.params["TZID"] == zone
    assert start.dt.replace(tzinfo=None) == wall
    assert start.dt.utcoffset() == timedelta(minutes=offset)
    assert start.dt.astimezone(UTC) == starts_at
    assert end.dt - start.dt == timedelta(minutes=45)
    # The file's own VTIMEZONE (what Outlook and friends use) agrees with the tz database.
    (vtimezone,) = [tz for tz in calendar.timezones if tz.tz_name == zone]
    own_zone = vtimezone.to_tz(lookup_tzid=False)
    assert wall.replace(tzinfo=own_zone).utcoffset() == timedelta(minutes=offset)


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC"])
def test_utc_zone_uses_z_times_and_no_vtimezone(zone):
    invite = make(timezone=zone)
    raw = calendar_file(invite).decode()
    assert "DTSTART:20260701T180000Z\r\n" in raw
    assert "DTEND:20260701T184500Z\r\n" in raw
    assert "TZID" not in raw
    assert "VTIMEZONE" not in raw
    calendar, event = parse(invite)
    assert event.DTSTART == SUMMER
    assert event.DTSTART.utcoffset() == timedelta(0)
    assert event.end - event.start == timedelta(minutes=45)
    assert calendar.timezones == []


def test_end_across_a_dst_change_is_minutes_of_real_time():
    # 00:30 GMT on 29 March 2026; clocks go forward at 01:00, so 45 minutes later is 02:15 BST.
    invite = make(starts_at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    raw = calendar_file(invite).decode()
    assert "DTSTART;TZID=Europe/London:20260329T003000\r\n" in raw
    assert "DTEND;TZID=Europe/London:20260329T021500\r\n" in raw
    _, event = parse(invite)
    assert event.DTEND.astimezone(UTC) - event.DTSTART.astimezone(UTC) == timedelta(minutes=45)


def test_non_utc_input_is_converted_not_relabelled():
    paris = timezone(timedelta(hours=2))
    _, event = parse(make(starts_at=datetime(2026, 7, 1, 20, 0, tzinfo=paris)))
    assert event.DTSTART.astimezone(UTC) == SUMMER
    assert event.DTSTART.replace(tzinfo=None) == datetime(2026, 7, 1, 19, 0)


def test_organizer_and_both_attendees_with_mailto():
    _, event = parse(make())
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:ana@example.org"
    assert organizer.params["CN"] == "Ana Lima"
    people = attendees(event)
    assert set(people) == {"Ana Lima", "Ben Ode"}
    assert str(people["Ana Lima"]) == "mailto:ana@example.org"
    assert str(people["Ben Ode"]) == "mailto:ben@example.org"
    for person in people.values():
        assert person.params["PARTSTAT"] == "ACCEPTED"
        assert person.params["ROLE"] == "REQ-PARTICIPANT"
        assert person.params["RSVP"] == "FALSE"


@pytest.mark.parametrize("name", [TRICKY, 'Ana: the; best, "ever" ✨', "Ἀθηνᾶ Παλλάς", "李小龙"])
def test_awkward_names_round_trip_in_cn(name):
    invite = make(organizer=Party(name, "z@example.org"), attendee=Party(name + " (2)", None))
    _, event = parse(invite)
    assert event["ORGANIZER"].params["CN"] == name
    people = attendees(event)
    assert set(people) == {name, name + " (2)"}
    assert str(people[name]) == "mailto:z@example.org"


def test_quotes_in_cn_use_rfc_6868_escapes():
    raw = calendar_file(make(organizer=Party(TRICKY, "z@example.org"))).decode()
    unfolded = raw.replace("\r\n ", "")
    assert "ORGANIZER;CN=\"Zoë ^'Z^' O'Neil, PhD; Ltd\":mailto:z@example.org\r\n" in unfolded


def test_names_lose_line_breaks_and_control_characters():
    _, event = parse(make(attendee=Party("Ben\r\n  Ode\x00\x07", None)))
    assert "Ben Ode" in attendees(event)


def test_without_email_addresses_are_urn_uuids_stable_per_coffee_and_role():
    invite = make(organizer=Party("Ana Lima", None), attendee=Party("Ben Ode", None))
    _, event = parse(invite)
    organizer_urn = urn(invite.uid, "organizer")
    attendee_urn = urn(invite.uid, "attendee")
    assert str(event["ORGANIZER"]) == organizer_urn
    people = attendees(event)
    assert str(people["Ana Lima"]) == organizer_urn  # the organizer is recognisably an attendee
    assert str(people["Ben Ode"]) == attendee_urn
    assert organizer_urn != attendee_urn
    assert "Lima" not in organizer_urn and "mailto" not in organizer_urn
    # Same coffee, new time: same addresses. Another coffee: different ones.
    _, moved = parse(dataclasses.replace(invite, sequence=1, starts_at=SUMMER + timedelta(days=1)))
    assert str(moved["ORGANIZER"]) == organizer_urn
    _, other = parse(dataclasses.replace(invite, uid="coffee-43-77aa@eventmate"))
    assert str(other["ORGANIZER"]) != organizer_urn


@pytest.mark.parametrize("email", [None, "", "   "])
def test_no_usable_email_means_urn(email):
    _, event = parse(make(attendee=Party("Ben Ode", email)))
    assert str(attendees(event)["Ben Ode"]).startswith("urn:uuid:")


def test_one_party_with_email_one_without():
    _, event = parse(make(attendee=Party("Ben Ode", None)))
    people = attendees(event)
    assert str(people["Ana Lima"]) == "mailto:ana@example.org"
    assert str(people["Ben Ode"]) == urn(make().uid, "attendee")


def test_reschedule_is_the_same_uid_with_a_higher_sequence_and_the_new_time():
    first = make()
    moved = make(sequence=1, starts_at=datetime(2026, 7, 2, 8, 0, tzinfo=UTC))
    _, before = parse(first)
    _, after = parse(moved)
    assert str(after["UID"]) == str(before["UID"])
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["SEQUENCE"] == 1
    assert after.DTSTART.astimezone(UTC) == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)
    assert after.DTSTART.replace(tzinfo=None) == datetime(2026, 7, 2, 9, 0)
    assert after.DTEND.astimezone(UTC) == datetime(2026, 7, 2, 8, 45, tzinfo=UTC)


def test_alarm_thirty_minutes_before():
    _, event = parse(make())
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)
    assert str(alarm["DESCRIPTION"]) == "Coffee in 30 minutes"


def test_cancel():
    calendar, event = parse(make(sequence=2, cancelled=True))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 2
    assert str(event["UID"]) == "coffee-42-3f9a0c@eventmate"
    assert event.walk("VALARM") == []
    assert set(attendees(event)) == {"Ana Lima", "Ben Ode"}
    assert b"VALARM" not in calendar_file(make(sequence=2, cancelled=True))


def test_description_with_newlines_commas_and_more_round_trips():
    text = 'Line one, with commas; semicolons: colons.\nLine two \\ backslash "quotes" ✨ Zoë\n\nLast'
    _, event = parse(make(description=text))
    assert str(event["DESCRIPTION"]) == text


def test_description_line_endings_normalised_and_control_characters_dropped():
    _, event = parse(make(description="a\r\nb\rc\x00d\x07e\x1bf\tg\ud800h"))
    assert str(event["DESCRIPTION"]) == "a\nb\ncdef\tgh"


def test_empty_location_means_no_location_property():
    _, event = parse(make(location=""))
    assert "LOCATION" not in event


def test_stamp_is_utc_and_defaults_to_now():
    local_stamp = datetime(2026, 6, 30, 23, 15, tzinfo=timezone(timedelta(hours=2)))
    raw = calendar_file(make(stamp=local_stamp)).decode()
    assert "DTSTAMP:20260630T211500Z\r\n" in raw
    before = datetime.now(UTC).replace(microsecond=0)
    _, event = parse(make(stamp=None))
    assert before <= event.DTSTAMP <= datetime.now(UTC)
    assert event.DTSTAMP.utcoffset() == timedelta(0)


def test_crlf_line_endings_and_folded_lines():
    invite = make(
        summary="Coffee: " + "Zoë " * 40,
        description="ünïcödé " * 60 + "\n" + "x" * 200,
        organizer=Party(TRICKY * 4, "zoe.oneil.with.a.rather.long.address@example.org"),
    )
    data = calendar_file(invite)
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"\r\n " in data  # something was long enough to fold
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line
    _, event = parse(invite)
    assert str(event["SUMMARY"]) == "Coffee: " + "Zoë " * 40
    assert event["ORGANIZER"].params["CN"] == TRICKY * 4


@pytest.mark.parametrize(
    "changes",
    [
        {"starts_at": datetime(2026, 7, 1, 18, 0)},  # naive
        {"stamp": datetime(2026, 7, 1, 18, 0)},  # naive
        {"starts_at": None},  # a coffee that never had a time
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "A" * 300},
        {"timezone": "../../etc/passwd"},
        {"timezone": ""},
        {"minutes": 0},
        {"sequence": -1},
        {"uid": " "},
    ],
)
def test_bad_invites_are_refused(changes):
    with pytest.raises(ValueError):
        make(**changes)


# --- the Google link -------------------------------------------------------------------


def test_google_link():
    invite = make(description="Met at the evening.\nBring notes, & cake?", summary="Coffee: Zoë & Ben")
    link = google_calendar_link(invite)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "calendar.google.com", "/calendar/render")
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "action": ["TEMPLATE"],
        "text": ["Coffee: Zoë & Ben"],
        "dates": ["20260701T180000Z/20260701T184500Z"],
        "details": ["Met at the evening.\nBring notes, & cake?"],
        "location": ["Flat White, 17 Berwick St, London"],
        "ctz": ["Europe/London"],
    }
    assert "+" not in parts.query  # quote(), not quote_plus(): spaces are %20
    assert link.isascii()


def test_google_link_dates_are_utc_whatever_the_zone():
    kolkata = timezone(timedelta(hours=5, minutes=30))
    invite = make(timezone="Asia/Kolkata", starts_at=datetime(2026, 3, 5, 17, 30, tzinfo=kolkata), minutes=90)
    query = parse_qs(urlsplit(google_calendar_link(invite)).query)
    assert query["dates"] == ["20260305T120000Z/20260305T133000Z"]
    assert query["ctz"] == ["Asia/Kolkata"]


def test_google_link_without_location():
    query = parse_qs(urlsplit(google_calendar_link(make(location=""))).query)
    assert "location" not in query
    assert query["text"] == ["Coffee: Ana Lima and Ben Ode"]


# --- the file name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ben Ode", "coffee-with-ben-ode.ics"),
        ("Zoë", "coffee-with-zoe.ics"),
        ("  José   María Núñez ", "coffee-with-jose-maria-nunez.ics"),
        (TRICKY, "coffee-with-zoe-z-oneil-phd-ltd.ics"),
        ("Zoë O’Neil", "coffee-with-zoe-oneil.ics"),
        ("Jürgen Straße", "coffee-with-jurgen-strasse.ics"),
        ("Søren Łukasz", "coffee-with-soren-lukasz.ics"),
        ("../../etc/passwd", "coffee-with-etc-passwd.ics"),
        ("C:\\Windows\\system32", "coffee-with-c-windows-system32.ics"),
        ("a/b\\c:d*e?f\"g<h>i|j\x00k", "coffee-with-a-b-c-d-e-f-g-h-i-j-k.ics"),
        ("ＢＥＮ", "coffee-with-ben.ics"),
        ("🙂☕🎉", "coffee.ics"),
        ("李小龙", "coffee.ics"),
        ("", "coffee.ics"),
        ("...", "coffee.ics"),
        ("-- --", "coffee.ics"),
    ],
)
def test_filename(name, expected):
    assert filename(name) == expected


def test_filename_is_short_and_safe():
    name = filename("Bartholomew " * 20)
    assert name.startswith("coffee-with-bartholomew-")
    assert name.endswith(".ics")
    assert len(name) <= len("coffee-with-.ics") + 60
    assert "--" not in name and "-.ics" not in name
