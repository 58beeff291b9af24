"""Your phones and your data (issue "Trust", defect 6 and data rights): see the devices signed
in as me, sign one out, get a new code that signs out every other; download what I own (JSON,
and my three as vCards under the contact rule); delete it, leaving a scrubbed tombstone."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import icalendar
import pytest
import sqlalchemy as sa
from conftest import EVENING, post, text
from itsdangerous import URLSafeSerializer
from push_fixtures import push_receiver_fixture  # noqa: F401

from eventmate import clock, coffee, devices, followup, letters, mydata, notes, picks
from eventmate.extensions import db
from eventmate.models import (
    Attendee,
    Coffee,
    Device,
    DeviceAttendee,
    Letter,
    Note,
    Pick,
    PushSubscription,
)

MORNING = EVENING + timedelta(hours=15)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " \
         "Version/17.4 Mobile/15E148 Safari/604.1"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) " \
          "Chrome/126.0.0.0 Mobile Safari/537.36"


def phone(app, code: str, agent: str = ANDROID):
    """A browser signed in with a return code."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert post(client, "/return", {"code": code}).status_code == 302
    return client


def subscribe(client, receiver) -> int:
    token = _csrf(client)
    response = client.post("/api/push/subscriptions", json=receiver.new_subscription(),
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    return response.status_code


def _csrf(client) -> str:
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', text(client.get("/return"))).group(1)


def device_ids(app, attendee_id: int) -> set[int]:
    with app.app_context():
        found = set(db.session.scalars(sa.select(DeviceAttendee.device_id)
                                       .where(DeviceAttendee.attendee_id == attendee_id)))
        db.session.remove()
    return found


@pytest.fixture
def ana(app, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser())
    person = make_attendee(event, "Ana Lima", contact="ana@studio.example")
    return SimpleNamespace(event=event, person=person, home=f"/e/{event.slug}", you=f"/e/{event.slug}/you")


# --- devices ---------------------------------------------------------------------------------

def test_an_attendee_sees_their_devices_and_signs_one_out(app, ana, push_receiver):
    mine, lost = phone(app, ana.person.code, ANDROID), phone(app, ana.person.code, IPHONE)
    assert subscribe(lost, push_receiver) == 201
    page = text(mine.get(ana.you))
    assert "This phone" in page and "Chrome on Android" in page and "Safari on iPhone" in page
    assert page.index("This phone") < page.index("Safari on iPhone")  # this one first
    assert "gets your reminders" in page  # the iPhone has push on

    [lost_id] = device_ids(app, ana.person.id) - {_this_device(app, mine)}
    done = post(mine, f"{ana.you}/devices/sign-out", {"device": str(lost_id)}, follow_redirects=True)
    assert "That device no longer opens your notes" in text(done)
    # The lost phone's cookie still carries the code, and opens nothing.
    refused = lost.get(ana.home)
    assert refused.status_code == 403 and "Ana Lima" not in text(refused)
    assert lost.get(f"{ana.home}/people").status_code == 403
    with app.app_context():  # it held nobody else: gone, with its push subscription
        assert db.session.get(Device, lost_id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0
    # …and it cannot bring itself back by asking for a push subscription.
    assert subscribe(lost, push_receiver) == 403
    assert device_ids(app, ana.person.id) == {_this_device(app, mine)}
    assert mine.get(ana.home).status_code == 200


def _this_device(app, client) -> int:
    value = URLSafeSerializer(app.config["SECRET_KEY"], salt="eventmate-device").loads(
        client.get_cookie("em_device").value)
    with app.app_context():
        found = devices.find(db.session, value["_d"]).id
        db.session.remove()
    return found


def test_signing_this_phone_out_forgets_the_event_here(app, ana):
    mine = phone(app, ana.person.code)
    done = post(mine, f"{ana.you}/devices/sign-out", {"device": str(_this_device(app, mine))})
    assert done.status_code == 302 and done.headers["Location"].endswith("/return?signed_out=1")
    assert mine.get(ana.home).status_code == 403
    # The code still works: signing out one phone is not losing the way back.
    assert post(mine, "/return", {"code": ana.person.code}).status_code == 302
    assert mine.get(ana.home).status_code == 200


def test_signing_out_a_device_of_someone_else_does_nothing(app, ana, make_attendee):
    ben = make_attendee(ana.event, "Ben Okafor")
    bens_phone = phone(app, ben.code)
    mine = phone(app, ana.person.code)
    answer = post(mine, f"{ana.you}/devices/sign-out", {"device": str(_this_device(app, bens_phone))},
                  follow_redirects=True)
    assert "already signed out" in text(answer)
    assert bens_phone.get(ana.home).status_code == 200


def test_a_copied_cookie_dies_with_a_new_code(app, ana):
    """Defect 6: a copied device cookie (valid 400 days, the code readable inside) kept working;
    nothing called `new_return_code`."""
    mine, other = phone(app, ana.person.code), phone(app, ana.person.code, IPHONE)
    thief = app.test_client()
    thief.set_cookie("em_device", mine.get_cookie("em_device").value)
    assert thief.get(ana.home).status_code == 200  # a perfect copy is, until revoked, that phone

    renewed = post(other, f"{ana.you}/new-code", {})
    assert renewed.status_code == 302
    home = other.get(renewed.headers["Location"])
    assert home.status_code == 200 and "every other phone and browser is signed out" in text(home)
    new_code = URLSafeSerializer(app.config["SECRET_KEY"], salt="eventmate-device").loads(
        other.get_cookie("em_device").value)[str(ana.event.id)]
    assert new_code != ana.person.code
    assert "<details open>" in text(home).replace('"', "")  # the new code is shown, not folded away

    assert thief.get(ana.home).status_code == 403
    assert mine.get(ana.home).status_code == 403
    assert post(app.test_client(), "/return", {"code": ana.person.code}).status_code == 422
    assert post(app.test_client(), "/return", {"code": new_code}).status_code == 302
    assert len(device_ids(app, ana.person.id)) == 2  # the one that asked, and the new sign-in


def test_a_cookie_from_before_devices_can_be_revoked(app, ana):
    """A phone with a cookie from before devices existed (a code, no credential) stays signed
    in across the upgrade, shows up in the list once it opens a page, and a new code ends it.
    A credential-less cookie never opens someone who checked in after devices existed."""
    legacy = URLSafeSerializer(app.config["SECRET_KEY"], salt="eventmate-device").dumps(
        {str(ana.event.id): ana.person.code})
    old = app.test_client()
    old.set_cookie("em_device", legacy)
    assert old.get(ana.home).status_code == 403  # Ana checked in after devices: no such cookie exists

    with app.app_context():
        db.session.execute(sa.update(Attendee).values(legacy_cookie_ok=True))  # as the migration does
        db.session.commit()
    copy = app.test_client()
    copy.set_cookie("em_device", legacy)
    assert old.get(ana.home).status_code == 200
    assert len(device_ids(app, ana.person.id)) == 1  # it got a device on that page view
    mine = phone(app, ana.person.code)
    assert post(mine, f"{ana.you}/new-code", {}).status_code == 302
    assert old.get(ana.home).status_code == 403
    assert copy.get(ana.home).status_code == 403


def test_describe_names_common_browsers():
    assert devices.describe(IPHONE) == "Safari on iPhone"
    assert devices.describe(ANDROID) == "Chrome on Android"
    assert devices.describe("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0") \
        == "Firefox on Windows"
    assert devices.describe("") == "A browser"
    assert devices.describe("x" * 100_000) == "A browser"


# --- download ------------------------------------------------------------------------------------

@pytest.fixture
def room(app, make_organiser, make_event, make_attendee):
    """Ana chose Ben (who chose her back) and Chloe (who did not); she noted things, wrote to
    Ben, and agreed a coffee with him; Dev wrote to nobody. Then it is the morning after."""
    clock.set_now(EVENING + timedelta(hours=1))
    event = make_event(make_organiser(), timezone="Europe/London")
    ana = make_attendee(event, "Ana Lima", email="ana@mail.example", contact="ana@studio.example",
                        what_i_do="Zebra-striped brand studio", how_i_help="Quokka-grade feedback",
                        looking_for="A narwhal of a marketing lead")
    ben = make_attendee(event, "Ben Okafor", email="ben@mail.example",
                        contact="ben@press.example, +44 20 7946 0958; Ben's \\ desk")
    chloe = make_attendee(event, "Chloé Dubois-Lefèvre", email="chloe@mail.example", contact="chloe@shh.example")
    dev = make_attendee(event, "Dev Patel", email="dev@mail.example")
    with app.app_context():
        s = db.session
        me, b = s.get(Attendee, ana.id), s.get(Attendee, ben.id)
        picks.pick(s, me, ben.id)
        picks.pick(s, me, chloe.id)
        picks.pick(s, b, ana.id)
        notes.save(s, me, ben.id, {"working_on": "a podcast about small presses", "personal": "two whippets"},
                   str(uuid.uuid4()))
        notes.save(s, b, ana.id, {"working_on": "Ben's note about Ana"}, str(uuid.uuid4()))
    clock.set_now(MORNING)
    with app.app_context():
        s = db.session
        me, b = s.get(Attendee, ana.id), s.get(Attendee, ben.id)
        letters.send(s, me, ben.id, {"body": "Great to meet you, Ben."}, str(uuid.uuid4()))
        letters.send(s, b, ana.id, {"body": "Likewise, Ana!"}, str(uuid.uuid4()))
        slots = coffee.form_values(me.event, coffee.default_slots(me.event))
        row = coffee.propose(s, me, ben.id, {**slots, "place": "Café Lumière"}, "")
        coffee.accept(s, b, row.id, "0", row.version)
    yield SimpleNamespace(event=event, ana=ana, ben=ben, chloe=chloe, dev=dev, slots=slots,
                          ana_phone=phone(app, ana.code), ben_phone=phone(app, ben.code),
                          chloe_phone=phone(app, chloe.code), dev_phone=phone(app, dev.code))
    clock.reset()


def test_download_my_data_is_everything_mine_and_nothing_of_others(app, room):
    response = room.ana_phone.get(f"/e/{room.event.slug}/you/eventmate-data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.get_data(as_text=True))
    assert data["you"]["email"] == "ana@mail.example" and data["you"]["contact"] == "ana@studio.example"
    three = {p["name"]: p for p in data["your_three"]}
    assert set(three) == {"Ben Okafor", "Chloé Dubois-Lefèvre"}
    assert three["Ben Okafor"]["contact_shared_with_you"].startswith("ben@press.example")  # he chose her
    assert three["Chloé Dubois-Lefèvre"]["contact_shared_with_you"] is None  # she did not
    assert [n["about"] for n in data["your_notes"]] == ["Ben Okafor"]
    assert data["your_notes"][0]["personal"] == "two whippets"
    assert [(m["from"], m["body"]) for m in data["notes_sent_and_received"]] == [
        ("Ana Lima", "Great to meet you, Ben."), ("Ben Okafor", "Likewise, Ana!")]
    assert data["coffees"][0]["state"] == "accepted" and data["coffees"][0]["place"] == "Café Lumière"
    assert data["chose_you"][0]["name"] == "Ben Okafor"
    assert [d["this_device"] for d in data["devices"]] == [True]
    body = response.get_data(as_text=True)
    for secret in ("ben@mail.example", "chloe@mail.example", "chloe@shh.example", "Ben's note about Ana",
                   room.ana.code, room.ben.code):
        assert secret not in body


def test_my_three_as_vcards_carry_only_what_was_shared_with_me(app, room):
    response = room.ana_phone.get(f"/e/{room.event.slug}/you/my-three.vcf")
    assert response.status_code == 200 and response.mimetype == "text/vcard"
    raw = response.get_data()
    assert raw.count(b"BEGIN:VCARD") == 2 and raw.endswith(b"END:VCARD\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded (RFC 6350 3.2)
    unfolded = raw.decode().replace("\r\n ", "")
    ben, chloe = unfolded.split("END:VCARD")[:2]
    assert "FN:Ben Okafor" in ben and "N:Okafor;Ben;;;" in ben
    assert "EMAIL;TYPE=INTERNET:ben@press.example" in ben and "TEL:+442079460958" in ben
    assert "Ben's \\\\ desk" in ben and "\\;" in ben and "\\," in ben  # escaped as text
    assert "Met at Thursday founders evening on 14 May 2026" in ben
    assert "FN:Chloé Dubois-Lefèvre" in chloe
    assert "EMAIL" not in chloe and "chloe@" not in chloe  # she never chose Ana


# --- delete ----------------------------------------------------------------------------------

def _everything(app) -> dict[str, list[dict]]:
    with app.app_context():
        found = {table.name: [dict(row._mapping) for row in db.session.execute(sa.select(table))]
                 for table in db.metadata.sorted_tables}
        db.session.remove()
    return found


def _mentions(rows: list[dict], attendee_id: int, columns: tuple[str, ...]) -> list[dict]:
    return [r for r in rows if any(r.get(c) == attendee_id for c in columns)]


PEOPLE_COLUMNS = ("attendee_id", "author_id", "subject_id", "picker_id", "picked_id", "sender_id",
                  "recipient_id", "muter_id", "muted_id", "low_id", "high_id", "proposer_id")


def test_deleting_my_data_leaves_a_tombstone_and_only_what_is_others(app, room, push_receiver):
    """Proved over every table: nothing Ana typed survives except the note she already sent
    Ben; nothing of hers remains but the tombstone and what belongs to others."""
    slug = room.event.slug
    assert subscribe(room.ana_phone, push_receiver) == 201
    with app.app_context():
        s = db.session
        me, dev = s.get(Attendee, room.ana.id), s.get(Attendee, room.dev.id)
        # An invitation still open (Dev wrote first, Ana proposed), a mute, a follow-up, a
        # notification queued for her.
        picks.pick(s, dev, room.ana.id)
        letters.send(s, dev, room.ana.id, {"body": "Hi Ana, Dev here."}, str(uuid.uuid4()))
        open_invite = coffee.propose(s, me, room.dev.id, room.slots, "").id
        letters.mute(s, me, room.chloe.id)
        followup.mark_followed_up(s, me, room.ben.id, "email")
        followup.notify(s, me, "reminder")
        s.commit()
    refused = post(room.ana_phone, f"/e/{slug}/you/delete", {})
    assert refused.status_code == 422 and "Tick the box" in text(refused)
    assert _everything(app)["note"]  # nothing happened

    done = post(room.ana_phone, f"/e/{slug}/you/delete", {"confirm": "yes"})
    assert done.status_code == 200 and "Your data is deleted" in text(done)
    assert room.ana_phone.get(f"/e/{slug}").status_code == 403

    tables = _everything(app)
    ana = room.ana.id
    typed = ("Ana Lima", "ana@mail.example", "ana@studio.example", "small presses", "whippets",
             "Zebra-striped", "Quokka-grade", "narwhal")
    for name, rows in tables.items():
        for row in rows:
            kept = " ".join(map(str, row.values()))
            for value in typed:
                if value in kept:
                    assert name == "letter" and row["sender_id"] == ana, (name, value, row)
    [tomb] = [r for r in tables["attendee"] if r["id"] == ana]
    assert tomb["name"] == mydata.TOMBSTONE_NAME and tomb["deleted_at"] is not None
    assert tomb["email"] is None and tomb["contact"] is None and tomb["left_at"] is not None
    assert not tomb["checkin_token_hash"] and not tomb["checkin_seal"] and not tomb["legacy_cookie_ok"]
    # Every row that still names Ana belongs to someone else.
    assert not _mentions(tables["pick"], ana, ("picker_id",))
    assert sorted(r["picker_id"] for r in _mentions(tables["pick"], ana, ("picked_id",))) == [room.ben.id, room.dev.id]
    assert [r["author_id"] for r in _mentions(tables["note"], ana, PEOPLE_COLUMNS)] == [room.ben.id]
    assert not tables["note_save"] or all(r["note_id"] in {n["id"] for n in tables["note"]}
                                          for r in tables["note_save"])
    assert not _mentions(tables["follow_up"], ana, ("author_id",))  # theirs about her stay
    assert not _mentions(tables["mute"], ana, PEOPLE_COLUMNS)
    assert not _mentions(tables["message"], ana, ("attendee_id",))
    assert not _mentions(tables["device_attendee"], ana, ("attendee_id",))
    assert len(tables["device"]) == 3 and len(tables["push_subscription"]) == 0  # Ben's, Chloé's, Dev's
    assert sorted((r["sender_id"], r["recipient_id"]) for r in _mentions(tables["letter"], ana, PEOPLE_COLUMNS)) \
        == sorted([(ana, room.ben.id), (room.ben.id, ana), (room.dev.id, ana)])
    coffees = {r["id"]: r for r in tables["coffee"]}
    assert coffees[open_invite]["state"] == "cancelled"
    assert [r["state"] for r in coffees.values() if r["id"] != open_invite] == ["accepted"]  # Ben keeps it
    # What everyone else relies on still holds: every table the same size or smaller, and
    # every row they own is there.
    for other in (room.ben_phone, room.chloe_phone, room.dev_phone):
        assert other.get(f"/e/{slug}").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)
                                 .where(Note.author_id == room.ben.id)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 3


def test_after_deletion_others_keep_their_notes_and_cannot_write_to_nobody(app, room):
    slug = room.event.slug
    post(room.ana_phone, f"/e/{slug}/you/delete", {"confirm": "yes"})
    ben = room.ben_phone
    home = text(ben.get(f"/e/{slug}"))
    assert mydata.TOMBSTONE_NAME in home and "Ana Lima" not in home
    notes_page = text(ben.get(f"/e/{slug}/notes/{room.ana.id}"))
    assert "Ben&#39;s note about Ana" in notes_page or "Ben's note about Ana" in notes_page
    thread = text(ben.get(f"/e/{slug}/with/{room.ana.id}"))
    assert "Great to meet you, Ben." in thread  # what she sent stays with him
    refused = post(ben, f"/e/{slug}/with/{room.ana.id}/write",
                   {"body": "Still there?", "client_id": str(uuid.uuid4())})
    assert refused.status_code == 410 and "deleted their details" in text(refused)
    assert "ana@studio.example" not in thread  # her contact details went with her
    # Who's here no longer lists her, under any name.
    for query in ("", "?q=ana", "?q=former"):
        listed = text(ben.get(f"/e/{slug}/people{query}"))
        assert f'data-person="{mydata.TOMBSTONE_NAME}"' not in listed and 'data-person="Ana Lima"' not in listed


def test_an_agreed_coffee_being_rescheduled_is_cancelled_in_the_calendar(app, room):
    """Ana and Ben agreed a time; Ana proposed another; then she deleted her data. Ben's
    calendar holds the first time, so his .ics is now a CANCEL with a higher SEQUENCE."""
    slug = room.event.slug
    with app.app_context():
        row = db.session.scalar(sa.select(Coffee))
        me = db.session.get(Attendee, room.ana.id)
        later = coffee.form_values(me.event, coffee.default_slots(me.event)[1:])
        coffee.propose(db.session, me, room.ben.id, later, row.version)
        coffee_id, sequence = row.id, db.session.get(Coffee, row.id).sequence
        db.session.remove()
    before = icalendar.Calendar.from_ical(room.ben_phone.get(f"/e/{slug}/coffee/{coffee_id}.ics").get_data())
    post(room.ana_phone, f"/e/{slug}/you/delete", {"confirm": "yes"})
    response = room.ben_phone.get(f"/e/{slug}/coffee/{coffee_id}.ics")
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.get_data())
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert event["UID"] == before.walk("VEVENT")[0]["UID"] and int(event["SEQUENCE"]) == sequence + 1


def test_deleting_twice_is_harmless_and_a_deleted_code_opens_nothing(app, room):
    slug = room.event.slug
    copy = app.test_client()
    copy.set_cookie("em_device", room.ana_phone.get_cookie("em_device").value)
    post(room.ana_phone, f"/e/{slug}/you/delete", {"confirm": "yes"})
    assert copy.get(f"/e/{slug}").status_code == 403
    assert post(app.test_client(), "/return", {"code": room.ana.code}).status_code == 422
    with app.app_context():
        me = db.session.get(Attendee, room.ana.id)
        mydata.delete(db.session, me)  # again: nothing changes, nothing fails
        assert me.name == mydata.TOMBSTONE_NAME
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Pick)
                                 .where(Pick.picker_id == room.ana.id)) == 0


def test_the_follow_up_page_offers_no_note_to_someone_who_deleted(app, room):
    slug = room.event.slug
    post(room.ana_phone, f"/e/{slug}/you/delete", {"confirm": "yes"})
    page = text(room.ben_phone.get(f"/e/{slug}/follow-up"))
    assert "data-deleted" in page and "no one to send a note to" in page
    assert f"/e/{slug}/follow-up/{room.ana.id}/send" not in page
