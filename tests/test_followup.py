"""The follow-up: a drafted note sent once, the inbox, mute, limits, "Sent it?", and a coffee
booked with a calendar file for both — through the services, the pages and the dispatcher."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
from conftest import EVENING, csrf_token, event_form, post, text
from push_fixtures import push_receiver_fixture  # noqa: F401
from smtp_fixtures import smtp_server_fixture  # noqa: F401

from eventmate import clock, coffee, letters, notes, picks
from eventmate.errors import CannotWrite, CoffeeChanged, SlowDown, ValidationFailed
from eventmate.extensions import db
from eventmate.models import Attendee, Coffee, FollowUp, Letter, Message

#: The morning after the standard evening (it ended 22:00 UTC on Thursday 14 May 2026).
MORNING = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)
CLIENT = "0f5c1e9a-3b7d-4c2e-9a1f-6d8e2b4c7a01"


def cid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


@pytest.fixture
def room(app, make_organiser, make_event, make_attendee):
    """Ana chose Ben and Chloe and noted what Ben told her; Ben shares an email, Dev is a
    stranger to Ana. Then it is the next morning, and each has a phone signed in."""
    clock.set_now(EVENING + timedelta(hours=1))
    event = make_event(make_organiser(), timezone="Europe/London")
    ana = make_attendee(event, "Ana Lima", contact="ana@studio.example")
    ben = make_attendee(event, "Ben Okafor", contact="ben@press.example · +44 20 7946 0958",
                        email="ben@mail.example")
    chloe = make_attendee(event, "Chloe Dubois")
    dev = make_attendee(event, "Dev Patel")
    with app.app_context():
        me = db.session.get(Attendee, ana.id)
        picks.pick(db.session, me, ben.id)
        picks.pick(db.session, me, chloe.id)
        notes.save(db.session, me, ben.id, {"working_on": "a podcast about small presses",
                                             "offer": "an intro to Maya at Canongate"}, CLIENT)
    clock.set_now(MORNING)
    phones = {}
    for person in (ana, ben, chloe, dev):
        # Each person is their phone: a signed-in test client that also knows who it is.
        phone = app.test_client()
        post(phone, "/return", {"code": person.code})
        phone.id, phone.name = person.id, person.name
        phones[person.name.split()[0].lower()] = phone
    yield SimpleNamespace(event=event, **phones)
    clock.reset()


def _me(app, person):
    return db.session.get(Attendee, person.id)


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- the follow-up page --------------------------------------------------------------------

def test_the_page_drafts_a_note_from_my_notes_for_each_of_my_three(room):
    page = text(room.ana.get(f"/e/{room.event.slug}/follow-up"))
    assert "Hi Ben," in page and "a podcast about small presses" in page
    assert "an intro to Maya at Canongate" in page
    assert "Chloe," in page  # no notes about Chloe: still a warm, short draft
    assert "{" not in page.split("<textarea")[1].split("</textarea>")[0]
    assert "12 hours left" in page  # the evening ended 22:00 BST: 24 hours later is 21:00 UTC today
    # Ben shared his details with people *he* picks; he didn't pick Ana: no address offered.
    assert "mailto:ben@press.example" not in page and "sms:" not in page


def test_email_and_text_links_only_with_details_shared_with_me(app, room):
    with app.app_context():
        picks.pick(db.session, db.session.get(Attendee, room.ben.id), room.ana.id)  # Ben chooses Ana
    page = text(room.ana.get(f"/e/{room.event.slug}/follow-up"))
    assert 'href="mailto:ben@press.example?subject=' in page
    assert 'href="sms:+442079460958?body=Hi%20Ben%2C' in page


def test_sending_in_app_happens_once_however_often_it_is_pressed(app, room):
    url = f"/e/{room.event.slug}/follow-up/{room.ben.id}/send"
    form = {"body": "Hi Ben,\n\nLovely to meet you.", "client_id": CLIENT.replace("0f", "1f")}
    first = post(room.ana, url, form)
    assert first.status_code == 302 and first.headers["Location"].endswith(f"#p{room.ben.id}")
    for _ in range(3):  # pressed again, replayed
        assert post(room.ana, url, form).status_code == 302
    with app.app_context():
        assert _count(Letter) == 1
        assert _count(Message, Message.kind == "note_received") == 1
        assert [r.channel for r in db.session.scalars(sa.select(FollowUp))] == ["in_app"]
    page = text(room.ana.get(f"/e/{room.event.slug}/follow-up"))
    assert "Sent within 24 h" in page and "Your note is in Ben's inbox" in page
    assert "1 new note for you" in text(room.ben.get(f"/e/{room.event.slug}"))
    inbox = text(room.ben.get(f"/e/{room.event.slug}/inbox"))
    assert "Ana Lima" in inbox and "1 new" in inbox and "Lovely to meet you." in inbox
    thread = text(room.ben.get(f"/e/{room.event.slug}/with/{room.ana.id}"))
    assert "Lovely to meet you." in thread
    assert 'href="mailto:ana@studio.example"' in thread  # a note carries the sender's details
    assert "1 new" not in text(room.ben.get(f"/e/{room.event.slug}/inbox"))  # read now


def test_eight_taps_at_once_send_one_note(app, room):
    url = f"/e/{room.event.slug}/follow-up/{room.ben.id}/send"
    token = csrf_token(room.ana)
    cookie = room.ana.get_cookie("em_device") or None
    start, results = threading.Barrier(8), []

    def tap():
        phone = app.test_client()
        for c in ("session", "em_device"):
            got = room.ana.get_cookie(c)
            if got:
                phone.set_cookie(c, got.value)
        start.wait(timeout=30)
        results.append(phone.post(url, data={"body": "Hi Ben", "client_id": cid(77), "csrf_token": token})
                       .status_code)

    assert cookie is not None
    threads = [threading.Thread(target=tap) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [302] * 8
    with app.app_context():
        assert _count(Letter) == 1 and _count(Message, Message.kind == "note_received") == 1


def test_a_replayed_client_id_cannot_send_someone_else_s_note(app, room):
    with app.app_context():
        letters.send(db.session, _me(app, room.ana), room.ben.id, {"body": "Hi Ben"}, cid(1))
        with pytest.raises(ValidationFailed):
            letters.send(db.session, _me(app, room.chloe), room.ana.id, {"body": "x"}, cid(1))


def test_size_limit_and_empty_note_come_back_with_the_text_kept(app, room):
    url = f"/e/{room.event.slug}/follow-up/{room.ben.id}/send"
    long = "word " * 201
    response = post(room.ana, url, {"body": long, "client_id": cid(2)})
    assert response.status_code == 422
    page = text(response)
    assert "Please keep a few words under 1000 characters" in page and "word word word" in page
    response = post(room.ana, url, {"body": "  ", "client_id": cid(3)})
    assert response.status_code == 422 and "Please add a few words." in text(response)
    with app.app_context():
        assert _count(Letter) == 0


def test_rate_limit_per_hour(app, room):
    with app.app_context():
        me = _me(app, room.ana)
        for n in range(letters.PER_HOUR):
            letters.send(db.session, me, room.ben.id, {"body": f"Note {n}"}, cid(100 + n))
        with pytest.raises(SlowDown):
            letters.send(db.session, me, room.ben.id, {"body": "one more"}, cid(200))
    response = post(room.ana, f"/e/{room.event.slug}/with/{room.ben.id}/write", {"body": "hi", "client_id": cid(201)})
    assert response.status_code == 429 and "Take a breather" in text(response)
    clock.set_now(MORNING + timedelta(hours=1, seconds=1))
    with app.app_context():
        letters.send(db.session, _me(app, room.ana), room.ben.id, {"body": "later"}, cid(202))


def test_only_people_from_the_evening_can_be_written_to(app, room):
    with app.app_context():
        with pytest.raises(CannotWrite):  # Ana never chose Dev, Dev never chose or wrote to Ana
            letters.send(db.session, _me(app, room.ana), room.dev.id, {"body": "hello"}, cid(5))
        # Ben didn't choose Ana, but once she writes, he can reply.
        letters.send(db.session, _me(app, room.ana), room.ben.id, {"body": "Hi Ben"}, cid(6))
        letters.send(db.session, _me(app, room.ben), room.ana.id, {"body": "Hi Ana!"}, cid(7))
    assert room.dev.get(f"/e/{room.event.slug}/with/{room.ana.id}").status_code == 404
    assert post(room.dev, f"/e/{room.event.slug}/with/{room.ana.id}/write",
                {"body": "hey", "client_id": cid(8)}).status_code == 403
    # Chloe can't see Ana and Ben's notes.
    assert "Hi Ana!" not in text(room.chloe.get(f"/e/{room.event.slug}/with/{room.ben.id}"))


def test_sent_it_another_way_is_counted_apart(app, room):
    url = f"/e/{room.event.slug}/follow-up/{room.chloe.id}/done"
    assert post(room.ana, url, {"channel": "email"}).status_code == 302
    assert post(room.ana, url, {"channel": "email"}).status_code == 302  # twice: once
    assert post(room.ana, f"/e/{room.event.slug}/follow-up/{room.ben.id}/done",
                {"channel": "carrier-pigeon"}).status_code == 302
    with app.app_context():
        rows = {(r.subject_id, r.channel) for r in db.session.scalars(sa.select(FollowUp))}
    assert rows == {(room.chloe.id, "email"), (room.ben.id, "confirmed")}
    assert post(room.ana, f"/e/{room.event.slug}/follow-up/{room.dev.id}/done").status_code == 404


def test_a_muted_sender_s_notes_and_invitations_go_nowhere_silently(app, room):
    assert post(room.ben, f"/e/{room.event.slug}/with/{room.ana.id}/mute").status_code == 302
    assert post(room.ana, f"/e/{room.event.slug}/follow-up/{room.ben.id}/send",
                {"body": "Hi Ben, coffee?", "client_id": cid(9)}).status_code == 302
    assert post(room.ana, f"/e/{room.event.slug}/with/{room.ben.id}/coffee",
                {**_slots(MORNING + timedelta(days=1)), "version": ""}).status_code == 302
    assert "Your note is in Ben's inbox" in text(room.ana.get(f"/e/{room.event.slug}/follow-up"))
    inbox = text(room.ben.get(f"/e/{room.event.slug}/inbox"))
    assert "Hi Ben, coffee?" not in inbox and "Coffee invitation" not in inbox
    assert "Muted" in inbox and "Unmute" in inbox
    with app.app_context():
        assert _count(Message, Message.kind.in_(("note_received", "coffee_proposed"))) == 0
        assert letters.unread_count(db.session, _me(app, room.ben)) == 0


# --- coffee ----------------------------------------------------------------------------------

def _slots(*moments, zone="Europe/London") -> dict:
    values = {}
    for i, moment in enumerate(moments):
        local = moment.astimezone(ZoneInfo(zone))
        values[f"date{i}"], values[f"time{i}"] = local.date().isoformat(), local.strftime("%H:%M")
    return values


def test_default_times_are_the_next_working_days(app, room):
    with app.app_context():
        event = _me(app, room.ana).event
        clock.set_now(datetime(2026, 5, 15, 9, 0, tzinfo=UTC))  # a Friday
        days = [s.strftime("%a %H:%M") for s in coffee.default_slots(event)]
    assert days == ["Mon 09:30", "Tue 12:30", "Wed 16:00"]


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"date0": "2026-05-14", "time0": "10:00"}, "slot0", "already passed"),
    ({"date0": "2026-05-18"}, "slot0", "both a day and a time"),
    ({"date0": "18/05/2026", "time0": "10:00"}, "slot0", "YYYY-MM-DD"),
    ({"date0": "2027-03-28", "time0": "01:30"}, "slot0", "clocks change"),  # London skips 01:00–02:00
    ({"date0": "2026-12-01", "time0": "10:00"}, "slot0", "next three months"),
    ({"date0": "2026-05-18", "time0": "10:00", "date1": "2026-05-18", "time1": "10:00"}, "slot1", "same time"),
    ({}, "slots", "at least one time"),
    ({"date0": "2026-05-18", "time0": "10:00", "place": "x" * 121}, "place", "under 120"),
])
def test_coffee_time_mistakes_are_explained(app, room, form, field, message):
    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        coffee.propose(db.session, _me(app, room.ana), room.ben.id, form, "")
    assert message in caught.value.errors[field]
    response = post(room.ana, f"/e/{room.event.slug}/with/{room.ben.id}/coffee", {**form, "version": "",
                                                                                 "from": "follow-up"})
    assert response.status_code == 422 and message in text(response)
    if form.get("date0"):
        assert f'value="{form["date0"]}"' in text(response)  # what was typed is kept


def _ics(response) -> icalendar.Calendar:
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def _vevent(cal):
    [event] = [c for c in cal.walk("VEVENT")]
    return event


def test_propose_accept_then_both_get_the_calendar_file(app, room):
    tue = datetime(2026, 5, 19, 8, 30, tzinfo=UTC)  # 09:30 BST
    times = [datetime(2026, 5, 18, 11, 30, tzinfo=UTC), tue, datetime(2026, 5, 20, 15, 0, tzinfo=UTC)]
    assert post(room.ana, f"/e/{room.event.slug}/with/{room.ben.id}/coffee",
                {**_slots(*times), "place": "Café Nero, Soho", "version": "", "from": "follow-up"}).status_code == 302
    thread = text(room.ben.get(f"/e/{room.event.slug}/with/{room.ana.id}"))
    assert "Tuesday 19 May, 09:30" in thread and "At Café Nero, Soho." in thread
    with app.app_context():
        row = db.session.scalar(sa.select(Coffee))
        assert [m.attendee_id for m in db.session.scalars(sa.select(Message).where(
            Message.kind == "coffee_proposed"))] == [room.ben.id]
    assert post(room.ben, f"/e/{room.event.slug}/coffee/{row.id}/accept",
                {"slot": "1", "version": str(row.version)}).status_code == 302
    assert post(room.ben, f"/e/{room.event.slug}/coffee/{row.id}/accept",  # again: no change
                {"slot": "1", "version": str(row.version)}).status_code == 302
    with app.app_context():
        answered = sorted(m.attendee_id for m in db.session.scalars(
            sa.select(Message).where(Message.kind == "coffee_answered")))
    assert answered == sorted([room.ana.id, room.ben.id])  # both get a push
    for phone, me, other in ((room.ana, "Ana Lima", "Ben Okafor"), (room.ben, "Ben Okafor", "Ana Lima")):
        page = text(phone.get(f"/e/{room.event.slug}/with/{room.ben.id if me.startswith('Ana') else room.ana.id}"))
        assert "Coffee booked" in page and "Add to calendar (.ics)" in page
        response = phone.get(f"/e/{room.event.slug}/coffee/{row.id}.ics")
        assert f'filename="coffee-with-{other.lower().replace(" ", "-")}.ics"' in response.headers[
            "Content-Disposition"]
        vevent = _vevent(_ics(response))
        assert vevent["DTSTART"].dt.astimezone(UTC) == tue
        assert vevent["DTSTART"].params["TZID"] == "Europe/London"
        assert vevent["DTSTART"].dt.strftime("%H:%M") == "09:30"
        assert vevent["DTEND"].dt - vevent["DTSTART"].dt == timedelta(minutes=coffee.MINUTES)
        assert str(vevent["UID"]) == row.uid and int(vevent["SEQUENCE"]) == 0
        assert str(vevent["SUMMARY"]) == f"Coffee with {other}"
        assert str(vevent["LOCATION"]) == "Café Nero, Soho"
        assert str(vevent["ORGANIZER"].params["CN"]) == "Ana Lima"  # she proposed the time
        assert {str(a.params["CN"]) for a in _list(vevent["ATTENDEE"])} == {"Ana Lima", "Ben Okafor"}
        google = parse_qs(urlsplit(page.split('href="https://calendar.google.com')[1].split('"')[0]
                                   .replace("&amp;", "&")).query)
        assert google["dates"] == ["20260519T083000Z/20260519T091500Z"]
    # Chloe is not part of it.
    assert room.chloe.get(f"/e/{room.event.slug}/coffee/{row.id}.ics").status_code == 404


def _list(value):
    return value if isinstance(value, list) else [value]


def test_a_reschedule_updates_the_same_calendar_entry_and_a_cancel_cancels_it(app, room):
    first = datetime(2026, 5, 18, 11, 30, tzinfo=UTC)
    later = datetime(2026, 5, 21, 12, 0, tzinfo=UTC)
    with app.app_context():
        row = coffee.propose(db.session, _me(app, room.ana), room.ben.id, _slots(first), "")
        row = coffee.accept(db.session, _me(app, room.ben), row.id, "0", row.version)
        uid = row.uid
        row = coffee.propose(db.session, _me(app, room.ben), room.ana.id, _slots(later), row.version)  # new time
        assert row.state == "proposed" and row.starts_at == first  # the old time stands until agreed
        row = coffee.accept(db.session, _me(app, room.ana), row.id, "0", row.version)
        coffee_id, version = row.id, row.version
    vevent = _vevent(_ics(room.ana.get(f"/e/{room.event.slug}/coffee/{coffee_id}.ics")))
    assert (str(vevent["UID"]), int(vevent["SEQUENCE"])) == (uid, 1)
    assert vevent["DTSTART"].dt.astimezone(UTC) == later
    assert str(vevent["ORGANIZER"].params["CN"]) == "Ben Okafor"
    assert post(room.ben, f"/e/{room.event.slug}/coffee/{coffee_id}/cancel", {"version": str(version)}).status_code == 302
    cal = _ics(room.ana.get(f"/e/{room.event.slug}/coffee/{coffee_id}.ics"))
    vevent = _vevent(cal)
    assert str(cal["METHOD"]) == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
    assert (str(vevent["UID"]), int(vevent["SEQUENCE"])) == (uid, 2)
    assert "Coffee called off" in text(room.ana.get(f"/e/{room.event.slug}/with/{room.ben.id}"))


def test_a_counter_offer_then_acceptance(app, room):
    with app.app_context():
        row = coffee.propose(db.session, _me(app, room.ana), room.ben.id,
                             _slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC)), "")
        version = row.version
    counter = _slots(datetime(2026, 5, 22, 7, 0, tzinfo=UTC), datetime(2026, 5, 22, 16, 0, tzinfo=UTC))
    assert post(room.ben, f"/e/{room.event.slug}/with/{room.ana.id}/coffee",
                {**counter, "place": "Monmouth", "version": str(version)}).status_code == 302
    page = text(room.ana.get(f"/e/{room.event.slug}/with/{room.ben.id}"))
    assert "Friday 22 May, 08:00" in page and "Friday 22 May, 17:00" in page and "Accept this time" in page
    with app.app_context():
        row = db.session.scalar(sa.select(Coffee))
        assert (row.proposer_id, row.place, len(row.slots)) == (room.ben.id, "Monmouth", 2)
        with pytest.raises(CoffeeChanged):  # Ana's old page: Ben changed it since
            coffee.accept(db.session, _me(app, room.ana), row.id, "0", version)
        row = coffee.accept(db.session, _me(app, room.ana), row.id, "1", row.version)
        assert row.starts_at == datetime(2026, 5, 22, 16, 0, tzinfo=UTC)


def test_accept_and_withdraw_at_the_same_moment_one_wins(app, room):
    with app.app_context():
        row = coffee.propose(db.session, _me(app, room.ana), room.ben.id,
                             _slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC)), "")
        coffee_id, version = row.id, row.version
    start, outcomes = threading.Barrier(2), []

    def act(who, action):
        with app.app_context():
            me = db.session.get(Attendee, who)
            db.session.commit()  # hold no transaction (SQLite: no write lock) while waiting
            start.wait(timeout=30)
            try:
                if action == "accept":
                    coffee.accept(db.session, me, coffee_id, "0", version)
                else:
                    coffee.cancel(db.session, me, coffee_id, version)
                outcomes.append(action)
            except CoffeeChanged:
                outcomes.append("changed")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=(room.ben.id, "accept")),
               threading.Thread(target=act, args=(room.ana.id, "cancel"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) in (["accept", "changed"], ["cancel", "changed"])
    with app.app_context():
        row = db.session.get(Coffee, coffee_id)
        assert row.version == version + 1
        assert row.state == ("accepted" if "accept" in outcomes else "cancelled")


def test_decline(app, room):
    with app.app_context():
        row = coffee.propose(db.session, _me(app, room.ana), room.ben.id,
                             _slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC)), "")
    assert post(room.ben, f"/e/{room.event.slug}/coffee/{row.id}/decline", {"version": str(row.version)}
                ).status_code == 302
    assert "No coffee this time" in text(room.ana.get(f"/e/{room.event.slug}/follow-up"))
    assert room.ana.get(f"/e/{room.event.slug}/coffee/{row.id}.ics").status_code == 404  # nothing was booked


def test_coffee_invitations_are_rate_limited(app, room):
    with app.app_context():
        me, ben = _me(app, room.ana), _me(app, room.ben)
        row = None
        for n in range(coffee.PER_HOUR):
            row = coffee.propose(db.session, me, ben.id,
                                 _slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC) + timedelta(hours=n)),
                                 row.version if row else "")
        with pytest.raises(SlowDown):
            coffee.propose(db.session, me, ben.id, _slots(datetime(2026, 6, 1, 11, 30, tzinfo=UTC)), row.version)


# --- what the dispatcher sends -------------------------------------------------------------

def test_a_note_and_an_invitation_reach_the_phone(app, runner, room, push_receiver):
    from eventmate import devices, push

    with app.app_context():
        phone = devices.attach(db.session, "ben-phone", [_me(app, room.ben)])
        devices.subscribe(db.session, phone, push.validate_subscription(push_receiver.new_subscription()))
        letters.send(db.session, _me(app, room.ana), room.ben.id,
                     {"body": "Hi Ben,\nGreat to meet you at the evening."}, cid(11))
        coffee.propose(db.session, _me(app, room.ana), room.ben.id,
                       {**_slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC)), "place": "Monmouth"}, "")
    result = runner.invoke(args=["send-prompts", "--now", MORNING.isoformat()])
    assert result.exit_code == 0, result.output
    deliveries = sorted(push_receiver.wait_for(2), key=lambda d: d.payload["title"])
    assert [d.payload["title"] for d in deliveries] == ["Ana sent you a note", "Ana suggests a coffee"]
    assert deliveries[0].payload["body"] == "Hi Ben, Great to meet you at the evening."
    assert deliveries[1].payload["body"] == "Mon 18 May, 12:30 at Monmouth. Pick one?"
    assert {d.payload["url"] for d in deliveries} == {
        f"http://127.0.0.1:5000/e/{room.event.slug}/with/{room.ana.id}"}
    # Each stands on its own on the lock screen: neither replaces the morning prompt.
    assert f"em-followup-{room.ben.id}" not in {d.headers["Topic"] for d in deliveries}


def test_an_invitation_answered_before_the_worker_runs_is_not_announced(app, runner, room):
    with app.app_context():
        row = coffee.propose(db.session, _me(app, room.ana), room.ben.id,
                             _slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC)), "")
        coffee.decline(db.session, _me(app, room.ben), row.id, row.version)
    result = runner.invoke(args=["send-prompts", "--now", MORNING.isoformat()])
    assert result.exit_code == 0, result.output
    with app.app_context():
        states = {m.kind: (m.state, m.outcome) for m in db.session.scalars(sa.select(Message).where(
            Message.coffee_id.is_not(None)))}
    assert states["coffee_proposed"] == ("skipped", "nothing to say")
    assert states["coffee_answered"][0] == "sent"


def test_event_form_defaults_are_the_standard_evening():
    assert event_form()["timezone"] == "UTC"


def test_without_push_a_note_arrives_by_email_with_a_link_to_the_conversation(app, make_app, room, smtp_server):
    with app.app_context():
        letters.send(db.session, _me(app, room.ana), room.ben.id,
                     {"body": "Hi Ben,\nGreat to meet you — here's that intro."}, cid(12))
    mailing = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://eventmate.example")
    result = mailing.test_cli_runner().invoke(args=["send-prompts", "--now", MORNING.isoformat()])
    assert "1 by email" in result.output, result.output
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "ben@mail.example"
    assert message["Subject"] == "Ana sent you a note (Thursday founders evening)"
    body = message.get_body(("plain",)).get_content()
    assert "Hi Ben, Great to meet you — here's that intro." in body
    assert f"Open it in EventMate: https://eventmate.example/e/{room.event.slug}/with/{room.ana.id}" in body
    assert message["List-Unsubscribe"].startswith("<https://eventmate.example/u/")


ODD = ["", " ", "-1", "0", "99999999999999999999", "²", "1e3", "NaN", "\x00", "\n", "a" * 5000, "<script>x</script>",
       "2026-02-30", "25:61", "9999-12-31", "0001-01-01", "23:59:60", "null", "[]", "☕" * 300]


@pytest.mark.parametrize("value", ODD)
def test_odd_input_to_every_follow_up_form_is_answered_never_a_500(app, room, value):
    with app.app_context():
        row = coffee.propose(db.session, _me(app, room.ana), room.ben.id,
                             _slots(datetime(2026, 5, 18, 11, 30, tzinfo=UTC)), "")
    slug, ben, ana = room.event.slug, room.ben.id, room.ana.id
    forms = [
        (room.ana, f"/e/{slug}/follow-up/{ben}/send", ("body", "client_id")),
        (room.ana, f"/e/{slug}/follow-up/{ben}/done", ("channel",)),
        (room.ana, f"/e/{slug}/with/{ben}/write", ("body", "client_id")),
        (room.ana, f"/e/{slug}/with/{ben}/coffee", ("date0", "time0", "date1", "time1", "place", "version", "from")),
        (room.ben, f"/e/{slug}/coffee/{row.id}/accept", ("slot", "version")),
        (room.ben, f"/e/{slug}/coffee/{row.id}/decline", ("version",)),
        (room.ana, f"/e/{slug}/coffee/{row.id}/cancel", ("version",)),
    ]
    for phone, url, fields in forms:
        for name in fields:
            response = post(phone, url, {name: value})
            assert response.status_code in (302, 400, 403, 404, 409, 422, 429), (url, name, response.status_code)
    for url in (f"/e/{slug}/with/{value[:40]}", f"/e/{slug}/coffee/{value[:40]}.ics", f"/e/{slug}/with/{ana}"):
        assert room.ben.get(url).status_code in (200, 404)
