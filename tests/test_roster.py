"""People and the door (issue "The organiser dashboard", part two): the attendee table, checking
someone in by hand and undoing it, a code handed over only to someone who never used a phone,
the CSV export under the consent box, and the log of what organisers did."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from conftest import EVENING, csrf_token, login, post, profile, text
from test_dashboard import counting

from eventmate import clock, notes, picks, roster, tokens
from eventmate.extensions import db
from eventmate.models import Attendee, Event, OrganiserAction


@pytest.fixture
def door(app, client, make_organiser, make_event, make_attendee, at_the_event):
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    return SimpleNamespace(organiser=organiser, event=event, people=f"/organiser/events/{event.id}/people",
                           make=lambda name, **kw: make_attendee(event, name, **kw))


def by_hand(client, door, name="Walk-in Wanda", token=None, **extra):
    return post(client, f"{door.people}/check-in", {"name": name, "door_token": token or str(uuid.uuid4()),
                                                    **extra})


def test_checking_someone_in_by_hand_gives_them_a_code_for_later(app, client, door):
    response = by_hand(client, door, what_i_do="Runs the bakery round the corner")
    assert response.status_code == 200 and "Walk-in Wanda is checked in" in text(response)
    assert "no-store" in response.headers["Cache-Control"]
    code = re.search(r"data-handover-code>([^<]+)<", text(response)).group(1).replace(" ", "")
    phone = app.test_client()
    assert post(phone, "/return", {"code": code}).status_code == 302
    assert "Walk-in Wanda" in text(phone.get(f"/e/{door.event.slug}"))
    assert "Walk-in Wanda" in text(client.get(door.people))
    with app.app_context():
        assert db.session.scalar(sa.select(OrganiserAction.action)) == "door_check_in"


def test_a_double_tap_checks_in_one_person(app, client, door):
    token = str(uuid.uuid4())
    first, second = by_hand(client, door, token=token), by_hand(client, door, token=token)
    assert first.status_code == second.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 1


def test_a_name_is_needed_and_nothing_typed_is_lost(app, client, door):
    response = by_hand(client, door, name="  ", what_i_do="Ceramics")
    assert response.status_code == 422
    page = text(response)
    assert 'aria-invalid="true"' in page and "Ceramics" in page and "<details open>" in page.replace('"', "")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 0


def test_undo_takes_someone_out_of_the_counts_and_who_is_here(app, client, door):
    ana, ben = door.make("Ana Lima"), door.make("Ben Okafor")
    ana_phone = app.test_client()
    post(ana_phone, "/return", {"code": ana.code})
    assert "Ben Okafor" in text(ana_phone.get(f"/e/{door.event.slug}/people"))
    done = post(client, f"{door.people}/{ben.id}/undo", {}, follow_redirects=True)
    assert "Check-in undone: Ben Okafor" in text(done)
    assert "Ben Okafor" not in text(ana_phone.get(f"/e/{door.event.slug}/people"))
    assert "<dd data-checked-in>1</dd>" in text(client.get(f"/organiser/events/{door.event.id}"))
    assert "undid the check-in of Ben Okafor" in text(client.get(door.people))
    # A mistaken undo is one tap away from undone.
    again = post(client, f"{door.people}/{ben.id}/check-in", {}, follow_redirects=True)
    assert "Ben Okafor is checked in." in text(again)
    assert "Ben Okafor" in text(ana_phone.get(f"/e/{door.event.slug}/people"))


def test_a_code_is_handed_over_only_to_someone_who_never_used_a_phone(app, client, door):
    """An organiser must not be able to open someone's private notes by making them a code."""
    qr_guest = door.make("Chloe Dubois")
    refused = post(client, f"{door.people}/{qr_guest.id}/code", {}, follow_redirects=True)
    assert "already use EventMate on a phone" in text(refused) and "data-handover-code" not in text(refused)
    assert post(app.test_client(), "/return", {"code": qr_guest.code}).status_code == 302  # her code unchanged

    first = re.search(r"data-handover-code>([^<]+)<", text(by_hand(client, door))).group(1).replace(" ", "")
    with app.app_context():
        wanda = db.session.scalar(sa.select(Attendee).where(Attendee.name == "Walk-in Wanda")).id
    again = post(client, f"{door.people}/{wanda}/code", {})
    second = re.search(r"data-handover-code>([^<]+)<", text(again)).group(1).replace(" ", "")
    assert second != first and post(app.test_client(), "/return", {"code": first}).status_code == 422
    phone = app.test_client()
    assert post(phone, "/return", {"code": second}).status_code == 302
    with app.app_context():
        notes.save(db.session, db.session.get(Attendee, wanda), qr_guest.id, {"working_on": "secret"},
                   str(uuid.uuid4()))
    # Now she uses a phone: no more codes from the door.
    assert "already use EventMate on a phone" in text(post(client, f"{door.people}/{wanda}/code", {},
                                                           follow_redirects=True))


def test_the_table_searches_sorts_and_pages(app, client, door):
    with app.app_context():
        now = clock.now()
        db.session.execute(sa.insert(Attendee), [
            {"event_id": door.event.id, "name": f"Guest {n:03d}", "what_i_do": "Potter" if n % 10 == 0 else "Baker",
             "how_i_help": "", "looking_for": "", "checked_in_at": now - timedelta(minutes=n),
             "return_code_hash": tokens.digest(f"c{n}"), "pickme_token": f"{n:032d}",
             "search_text": f"guest {n:03d} {'potter' if n % 10 == 0 else 'baker'}"} for n in range(120)])
        db.session.commit()
        event = db.session.get(Event, door.event.id)
        first = roster.table(db.session, event)
        assert (first.total, first.pages, len(first.people)) == (120, 3, 50)
        assert first.people[0].name == "Guest 000"  # latest first
        last = roster.table(db.session, event, sort="name", page=3)
        assert [p.name for p in last.people][-1] == "Guest 119" and len(last.people) == 20
        found = roster.table(db.session, event, query="POTTER")
        assert found.total == 12 and {p.what_i_do for p in found.people} == {"Potter"}
        beyond = roster.table(db.session, event, page=9)
        assert beyond.people == [] and beyond.total == 120
    page = text(client.get(f"{door.people}?q=potter&sort=name"))
    assert "12 people matching “potter”" in page and page.index("Guest 000") < page.index("Guest 010")
    assert "Page 1 of 3" in text(client.get(door.people))
    assert client.get(f"{door.people}?page=x&sort=%00").status_code == 200
    assert client.get(f"{door.people}?q=%00pot%1bter").status_code == 200  # PostgreSQL refuses NUL in text


def test_the_people_page_costs_the_same_queries_for_10_and_2000(app, client, door):
    def queries() -> int:
        with counting(app) as seen:
            assert client.get(door.people).status_code == 200
        return len(seen)

    for n in range(10):
        door.make(f"Guest {n}")
    small = queries()
    with app.app_context():
        db.session.execute(sa.insert(Attendee), [
            {"event_id": door.event.id, "name": f"Bulk {n}", "what_i_do": "x", "how_i_help": "", "looking_for": "",
             "checked_in_at": clock.now(), "return_code_hash": tokens.digest(f"b{n}"), "pickme_token": f"{n:032d}",
             "search_text": ""} for n in range(1990)])
        db.session.commit()
    assert queries() == small


# --- the export and the consent box ----------------------------------------------------------

def export(client, door) -> list[list[str]]:
    response = post(client, f"{door.people}.csv", {})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_the_export_has_email_and_contact_only_for_people_who_agreed(app, client, door):
    checkin_page = text(app.test_client().get(door.event.checkin_path))
    assert 'name="contact_consent"' in checkin_page and "checked" not in checkin_page.split(
        'name="contact_consent"')[1].split(">")[0]  # off unless ticked
    phone = app.test_client()
    form = text(phone.get(door.event.checkin_path))
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    post(phone, door.event.checkin_path, {**profile("Ana Lima"), "email": "ana@mail.example",
                                          "contact": "ana@studio.example", "contact_consent": "yes",
                                          "form_token": token})
    door.make("Ben Okafor", email="ben@mail.example", contact="ben@press.example")
    rows = export(client, door)
    assert rows[0] == list(roster.CSV_COLUMNS)
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Ana Lima"][5:] == ["ana@mail.example", "ana@studio.example"]
    assert by_name["Ben Okafor"][5:] == ["", ""]
    assert re.fullmatch(r"2026-05-14 \d\d:\d\d", by_name["Ben Okafor"][4])
    with app.app_context():
        assert db.session.scalar(sa.select(OrganiserAction.action)) == "export"


def test_the_export_quotes_and_neutralises_formulas(app, client, door):
    door.make('=HYPERLINK("http://evil.example","click")', what_i_do='+1 "quoted", with commas',
              contact="-line one\nline two, \"three\"")
    door.make("@SUM(A1)", what_i_do="-2+3")
    with app.app_context():
        db.session.execute(sa.update(Attendee).values(contact_consent=True))
        db.session.commit()
    rows = export(client, door)
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in cells
    assert "'+1 \"quoted\", with commas" in cells
    assert "'-line one\nline two, \"three\"" in cells  # a multi-line cell survives the round trip
    assert {"'@SUM(A1)", "'-2+3"} <= set(cells)
    assert not any(c.startswith(("=", "+", "-", "@", "\t")) for c in cells)


def test_nothing_private_reaches_the_people_page_or_the_export(app, client, door):
    ana, ben = door.make("Ana Lima"), door.make("Ben Okafor")
    secret = f"zq{uuid.uuid4().hex}"
    with app.app_context():
        me = db.session.get(Attendee, ana.id)
        picks.pick(db.session, me, ben.id)
        notes.save(db.session, me, ben.id, {"working_on": secret}, str(uuid.uuid4()))
    assert secret not in text(client.get(door.people))
    assert secret not in "".join(",".join(r) for r in export(client, door))
    assert ana.code not in text(client.get(door.people))


def test_another_organiser_finds_nothing(app, client, door, make_organiser):
    ana = door.make("Ana Lima")
    other = app.test_client()
    login(other, make_organiser())
    token = csrf_token(other)
    for method, url in (("get", door.people), ("post", f"{door.people}.csv"), ("post", f"{door.people}/check-in"),
                        ("post", f"{door.people}/{ana.id}/undo"), ("post", f"{door.people}/{ana.id}/code")):
        response = getattr(other, method)(url, data={"csrf_token": token, "name": "x",
                                                     "door_token": str(uuid.uuid4())})
        assert response.status_code == 404, url
    with app.app_context():
        assert db.session.get(Attendee, ana.id).checked_in_at is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrganiserAction)) == 0


def test_undo_of_someone_of_another_event_is_not_found(app, client, door, make_event):
    elsewhere = make_event(door.organiser, name="Another evening")
    clock.set_now(EVENING + timedelta(hours=1))
    with app.app_context():
        from eventmate import checkin

        ev = db.session.get(Event, elsewhere.id)
        stranger, _code = checkin.check_in(db.session, ev, profile("Dev Patel"),
                                           form_token=checkin.new_form_token(app.config["SECRET_KEY"]),
                                           secret=app.config["SECRET_KEY"])
        stranger_id = stranger.id
    assert post(client, f"{door.people}/{stranger_id}/undo", {}).status_code == 404
